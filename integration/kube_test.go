package integration

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/kube"
	"github.com/appagent/appagent/testing/podman"
)

// kubePlayChanges are what this test changes in appagent kube's output so that podman 4.3's
// kube play runs it; docs/kubernetes.md lists them too. Everything else is played as printed.
var kubePlayChanges = []string{
	"StatefulSet: its pod template becomes a Pod and its volumeClaimTemplate a PersistentVolumeClaim (kube play has no StatefulSet)",
	"the projected /run/secrets volume becomes one ConfigMap volume holding the ConfigMap's and the Secret's values (kube play has no projected volumes, and takes Secrets only from podman's own secret store)",
	"hostUsers: false is dropped (a user namespace needs the OCI hook on this cgroup v1/hybrid host; TestWikiUserNSPodman covers it)",
	"the emptyDirs are renamed after the test: kube play 4.3 makes each a named volume called like the pod's volume (run, tmp), which every pod on the host would share",
}

// What kube play 4.3 takes but does not honour: the Services (no cluster network),
// lifecycle.stopSignal (the image's STOPSIGNAL SIGRTMIN+3 applies), emptyDir's medium: Memory
// (an emptyDir is a volume on disk), the startupProbe; the livenessProbe becomes a healthcheck.

// TestKubePlayWiki boots the example wiki from the pod spec appagent kube generates, with
// `podman kube play`: it becomes ready, answers HTTP 200 from inside, every probe command
// answers 0, `podman logs` shows the journal, and the parameters arrived as files.
func TestKubePlayWiki(t *testing.T) {
	podman.Require(t)
	image := buildWiki(t, podmanEngine, 1)
	cfg, err := config.Load(wikiDir + "/appagent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	name := podman.KubeName()
	values := map[string]string{}
	for _, kv := range wikiEnv {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	docs, err := kube.Kubernetes(cfg, kube.Options{Image: image, Name: name, Values: values})
	if err != nil {
		t.Fatal(err)
	}
	manifest, volumes := forKubePlay(t, docs)
	t.Logf("changed for podman kube play:\n- %s", strings.Join(kubePlayChanges, "\n- "))
	podman.KubePlay(t, manifest, volumes...)

	c := podman.Attach(t, name+"-"+name) // kube play names a pod's container POD-CONTAINER
	wikiReady(t, c, "kube play")
	wikiCheckMainPage(t, c)
	for _, probe := range []string{"started", "ready", "live"} {
		cmd := kube.ProbeCommand(probe)
		if out, errs, code, err := c.Exec(cmd...); err != nil || code != 0 {
			t.Errorf("probe %s: %s: exit %d %v\n%s%s", probe, strings.Join(cmd, " "), code, err, out, errs)
		}
	}
	if out, _, code, _ := c.Exec("test", "-x", kube.HaltCommand); code != 0 {
		t.Errorf("the preStop command %s is not in the image: %s", kube.HaltCommand, out)
	}
	// The values came as files, the secret one too, and nothing secret is in the environment.
	if got := strings.TrimSpace(c.MustExec("cat", "/run/secrets/WIKI_NAME")); got != wikiName {
		t.Errorf("/run/secrets/WIKI_NAME = %q, want %q", got, wikiName)
	}
	if env := c.MustExec("cat", "/proc/1/environ"); strings.Contains(env, wikiPassword) {
		t.Errorf("the admin password is in PID 1's environment")
	}
	params := c.MustExec("appagent", "status", "--json")
	if !strings.Contains(params, `"name": "WIKI_ADMIN_PASSWORD"`) || !strings.Contains(params, `"source": "secret"`) {
		t.Errorf("status does not show the parameters from /run/secrets:\n%s", params)
	}
	ro, _ := c.Inspect("{{.HostConfig.ReadonlyRootfs}}")
	if strings.TrimSpace(ro) != "true" {
		t.Errorf("readOnlyRootFilesystem was not honoured: ReadonlyRootfs=%s", ro)
	}
	wikiWaitFor(t, time.Minute, "the journal in podman logs", func() bool {
		return strings.Contains(c.Logs(), "Started apache2.service")
	})
	// A restart of the container in its pod (restartPolicy: Always, as in a StatefulSet)
	// keeps the emptyDirs: the second boot must find /run as a fresh boot would. The restart
	// is made with the --prestop hook's command, which halts systemd as SIGRTMIN+3 does.
	c.MustExec(kube.HaltCommand, "--no-block", "halt")
	wikiWaitFor(t, 2*time.Minute, "the container restarted by its pod", func() bool {
		n, _ := c.Inspect("{{.RestartCount}}")
		return strings.TrimSpace(n) != "" && strings.TrimSpace(n) != "0"
	})
	wikiReady(t, c, "kube play, restarted in its pod")
	wikiCheckMainPage(t, c)
	if logs := c.Logs(); !strings.Contains(logs, "this container ran before and its /run was kept") {
		t.Errorf("the second start did not say it emptied the kept /run:\n%s", wikiTail(logs, 40))
	}
}

// forKubePlay makes appagent kube's output playable by podman 4.3 (kubePlayChanges) and
// labels everything with the test's owner. It returns the YAML and the names of the volumes
// kube play makes (the claim, the ConfigMap's, the emptyDirs'), which kube down leaves.
func forKubePlay(t *testing.T, docs []kube.Document) ([]byte, []string) {
	t.Helper()
	var cm corev1.ConfigMap
	var sec corev1.Secret
	var sts appsv1.StatefulSet
	for _, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var into any
		switch d["kind"] {
		case "ConfigMap":
			into = &cm
		case "Secret":
			into = &sec
		case "StatefulSet":
			into = &sts
		default:
			continue // Services: no cluster network here
		}
		if err := yaml.UnmarshalStrict(b, into); err != nil {
			t.Fatalf("%s: %v", d["kind"], err)
		}
	}
	owner := podman.OwnerLabels()
	claimT := sts.Spec.VolumeClaimTemplates[0]
	claim := corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: sts.Name + "-" + claimT.Name, Labels: owner},
		Spec:       claimT.Spec,
	}
	for k, v := range sec.StringData {
		cm.Data[k] = v
	}
	cm.Name = sts.Name + "-kubeplay"
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: sts.Name, Labels: owner},
		Spec:       sts.Spec.Template.Spec,
	}
	pod.Spec.HostUsers = nil
	volumes := []string{claim.Name, cm.Name}
	renamed := map[string]string{}
	for i, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil {
			renamed[v.Name] = sts.Name + "-" + v.Name
			pod.Spec.Volumes[i].Name = renamed[v.Name]
			volumes = append(volumes, renamed[v.Name])
		}
	}
	for i, m := range pod.Spec.Containers[0].VolumeMounts {
		if n, ok := renamed[m.Name]; ok {
			pod.Spec.Containers[0].VolumeMounts[i].Name = n
		}
	}
	for i, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		var items []corev1.KeyToPath
		for _, s := range v.Projected.Sources {
			if s.ConfigMap != nil {
				items = append(items, s.ConfigMap.Items...)
			}
			if s.Secret != nil {
				items = append(items, s.Secret.Items...)
			}
		}
		// kube play 4.3 writes every listed item, present or not: list only those with a value.
		items = slices.DeleteFunc(items, func(it corev1.KeyToPath) bool { _, ok := cm.Data[it.Key]; return !ok })
		pod.Spec.Volumes[i].VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}, Items: items, Optional: v.Projected.Sources[0].ConfigMap.Optional}}
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: claimT.Name, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name}}})
	var b bytes.Buffer
	for i, obj := range []any{&claim, &cm, &pod} {
		y, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), volumes
}

// TestKubePlayWikiReplicas plays what `appagent kube --replicas 2` prints (issue 16): each pod
// of the StatefulSet as a pod of its own (kube play has no StatefulSet), named NAME-0 and
// NAME-1 as the controller names them, on a network of the test's own. Each takes its role
// from its hostname's ordinal, as printed (WIKI_ROLE=ordinal): pod 0 is the primary, pod 1
// joins it; an edit made through MediaWiki on pod 0 reaches pod 1's database. Changed besides
// kubePlayChanges: the primary's address NAME-0.NAME (the headless Service, no cluster DNS
// here) becomes pod 0's name on the test's network, and the containerPorts go.
func TestKubePlayWikiReplicas(t *testing.T) {
	podman.Require(t)
	image := buildWiki(t, podmanEngine, 1)
	cfg, err := config.Load(wikiDir + "/appagent.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := podman.KubeName()
	values := map[string]string{"REPLICATION_PASSWORD": "appagent-Repl-pw-9"}
	for _, kv := range wikiEnv {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	network := podman.NewNetwork(t)
	var pods []*container
	for i := 0; i < 2; i++ {
		docs, err := kube.Kubernetes(cfg, kube.Options{Image: image, Name: base, Values: values, Replicas: 2})
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s-%d", base, i)
		for _, d := range docs {
			switch d["kind"] {
			case "StatefulSet":
				if r := d["spec"].(map[string]any)["replicas"]; fmt.Sprint(r) != "2" {
					t.Fatalf("appagent kube --replicas 2 printed replicas: %v", r)
				}
				d["metadata"].(map[string]any)["name"] = name
			case "ConfigMap":
				data := d["data"].(map[string]any)
				if data["WIKI_ROLE"] != config.RoleOrdinal || data["WIKI_PRIMARY"] != base+"-0."+base {
					t.Fatalf("appagent kube --replicas 2: WIKI_ROLE=%v WIKI_PRIMARY=%v", data["WIKI_ROLE"], data["WIKI_PRIMARY"])
				}
				data["WIKI_PRIMARY"] = base + "-0"
			}
		}
		// kube play 4.3 publishes a pod's containerPorts on the host when the pod joins a
		// network (pod 1's :22 then collides with pod 0's): the ports go; the pods reach
		// each other on the test's network without them.
		for _, d := range docs {
			if d["kind"] == "StatefulSet" {
				spec := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				delete(spec["containers"].([]any)[0].(map[string]any), "ports")
			}
		}
		manifest, volumes := forKubePlay(t, docs)
		podman.KubePlayOn(t, network, manifest, volumes...)
		c := podman.Attach(t, name+"-"+base)
		wikiReady(t, c, "kube play pod "+name)
		pods = append(pods, c)
	}
	primary, replica := pods[0], pods[1]
	for i, c := range pods {
		role := strings.TrimSpace(c.MustExec("sh", "-c", ". /run/appagent/role.env && echo $APPAGENT_ROLE $APPAGENT_ORDINAL"))
		if want := []string{"primary 0", "replica 1"}[i]; role != want {
			t.Errorf("pod %d: role %q, want %q", i, role, want)
		}
	}
	if out := replica.MustExec("journalctl", "-o", "cat", "--no-pager", "-u", "appagent-join.service"); !strings.Contains(out, "joined:") {
		t.Errorf("pod 1 did not join pod 0; its join hook's journal:\n%s", out)
	}
	const marker = "kube-replicated-edit"
	primary.MustExec("sh", "-c", "echo 'An edit on pod 0: "+marker+"' | php /usr/share/mediawiki/maintenance/edit.php --conf /etc/mediawiki/LocalSettings.php -u "+wikiAdmin+" "+wikiPage)
	wikiWaitFor(t, time.Minute, "the edit on pod 0 in pod 1's database", func() bool {
		out, _, code, _ := replica.Exec("mariadb", "-N", "-B", "-e", "SELECT COUNT(*) FROM wiki.text WHERE old_text LIKE '%"+marker+"%'")
		return code == 0 && strings.TrimSpace(out) != "0"
	})
}
