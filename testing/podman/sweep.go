package podman

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/appagent/appagent/testing/internal/engine"
	"github.com/appagent/appagent/testing/internal/harness"
)

var sweepOnce sync.Once

// sweep removes, once per test process, the containers, images and volumes labelled
// appagent-test.owner whose owner test process is no longer alive (a crashed or timed-out run),
// and the pods and volumes of its kube play manifests (sweepKube).
func sweep(t testing.TB) {
	sweepOnce.Do(func() {
		sweepKube(t)
		kinds := []struct {
			list []string
			rm   []string
			id   func(map[string]any) string
		}{
			{[]string{"ps", "-a", "--format", "json"}, []string{"rm", "-f", "-v", "--time", "0"}, field("Id")},
			{[]string{"images", "--format", "json"}, []string{"rmi", "-f"}, field("Id")},
			{[]string{"volume", "ls", "--format", "json"}, []string{"volume", "rm", "-f"}, field("Name")},
		}
		for _, k := range kinds {
			r, err := podman(CommandTimeout, nil, append(k.list, "--filter", "label="+harness.LabelOwner)...)
			if err != nil || r.Code != 0 {
				t.Logf("podman: sweep: podman %v: exit %d %v %s", k.list, r.Code, err, r.Stderr)
				continue
			}
			var items []map[string]any
			if err := json.Unmarshal([]byte(r.Stdout), &items); err != nil {
				t.Logf("podman: sweep: podman %v: %v", k.list, err)
				continue
			}
			for _, it := range items {
				labels, _ := it["Labels"].(map[string]any)
				owner, _ := labels[harness.LabelOwner].(string)
				id := k.id(it)
				if owner == "" || id == "" || harness.OwnerAlive(owner) {
					continue
				}
				r, err := podman(CommandTimeout, nil, append(k.rm, id)...)
				if err != nil || r.Code != 0 {
					t.Logf("podman: sweep: podman %v %s: exit %d %v %s", k.rm, id, r.Code, err, r.Stderr)
					continue
				}
				t.Logf("podman: sweep: removed %s of dead test process %s (podman %s)", id, owner, k.list[0])
			}
		}
		sweepNetworks(t)
		sweepBuildContainers(t)
	})
}

// sweepNetworks removes the networks of dead test processes (after their containers: a
// network in use cannot be removed). podman lists networks with lower-case keys.
func sweepNetworks(t testing.TB) {
	r, err := podman(CommandTimeout, nil, "network", "ls", "--filter", "label="+harness.LabelOwner, "--format", "json")
	if err != nil || r.Code != 0 {
		t.Logf("podman: sweep: network ls: exit %d %v %s", r.Code, err, r.Stderr)
		return
	}
	var items []struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &items); err != nil {
		t.Logf("podman: sweep: network ls: %v", err)
		return
	}
	for _, it := range items {
		owner := it.Labels[harness.LabelOwner]
		if owner == "" || harness.OwnerAlive(owner) {
			continue
		}
		if r, err := podman(CommandTimeout, nil, "network", "rm", "-f", it.Name); err != nil || r.Code != 0 {
			t.Logf("podman: sweep: network rm %s: exit %d %v %s", it.Name, r.Code, err, r.Stderr)
			continue
		}
		t.Logf("podman: sweep: removed network %s of dead test process %s", it.Name, owner)
	}
}

// sweepBuildContainers removes the working containers that a `podman build` killed half-way
// leaves (they carry no labels): those on our base or test images, and only when no other
// test process is alive that could be building right now.
func sweepBuildContainers(t testing.TB) {
	if otherLiveOwners() {
		return
	}
	r, err := podman(CommandTimeout, nil, "ps", "-a", "--external", "--format", "json")
	if err != nil || r.Code != 0 {
		return
	}
	var items []map[string]any
	if json.Unmarshal([]byte(r.Stdout), &items) != nil {
		return
	}
	for _, it := range items {
		img, _ := it["Image"].(string)
		id, _ := it["Id"].(string)
		status, _ := it["Status"].(string)
		ext, _ := it["IsExternal"].(bool)
		if id == "" || !(ext || status == "Storage") {
			continue
		}
		if !strings.HasPrefix(img, BaseRepo+":") && !strings.HasPrefix(img, engine.TestRepo+":") {
			continue
		}
		if r, err := podman(CommandTimeout, nil, "rm", "-f", id); err == nil && r.Code == 0 {
			t.Logf("podman: sweep: removed build container %.12s (image %s) of a killed build", id, img)
		}
	}
}

// otherLiveOwners reports whether another live test process has a work directory.
func otherLiveOwners() bool {
	ents, _ := os.ReadDir(harness.WorkDir)
	for _, e := range ents {
		if e.Name() != harness.Owner() && harness.OwnerAlive(e.Name()) {
			return true
		}
	}
	return false
}

func field(name string) func(map[string]any) string {
	return func(m map[string]any) string {
		s, _ := m[name].(string)
		return s
	}
}
