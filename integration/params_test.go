package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/testing/nspawn"
	"github.com/appagent/appagent/testing/podman"
)

// paramsConfig declares a plain parameter, one whose value is hard to quote, a typed one with
// a default, and a secret; app.service writes what it received to the volume.
const paramsConfig = `volume:
  path: /data
parameters:
  - name: WIKI_NAME
    description: the wiki's title
    required: true
  - name: WIKI_TRICKY
    description: a value that tests the environment file's quoting
  - name: WIKI_PORT
    type: port
    default: "8080"
  - name: WIKI_ADMIN_PASSWORD
    description: password of the wiki's admin account
    secret: true
    required: true
units:
  - app.service
`

// appUnit records what a unit gets: its environment values, its credential, its start time.
const appUnit = `[Unit]
Description=test application

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'mkdir -p /data/out && printf %%s "$WIKI_NAME" > /data/out/name && printf %%s "$WIKI_TRICKY" > /data/out/tricky && printf %%s "$WIKI_PORT" > /data/out/port && cat "$CREDENTIALS_DIRECTORY/WIKI_ADMIN_PASSWORD" > /data/out/password && echo "app started"'

[Install]
WantedBy=multi-user.target
`

// trickyValue has every character that EnvironmentFile quoting must survive.
const trickyValue = "line one\nline \"two\" with $HOME, `cmd`, \\back\\slash, 'single', #hash and  spaces  \t tab"

const secretValue = "S3cr3t-4nJ7-never-printed"

func TestParamsReachUnitsNspawn(t *testing.T) {
	nspawn.Require(t)
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "WIKI_ADMIN_PASSWORD"), []byte(secretValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := nspawn.Boot(t, nspawn.Options{
		Files: map[string]string{
			"/etc/appagent/appagent.yaml":     paramsConfig,
			"/etc/systemd/system/app.service": appUnit,
		},
		Setup:     enableUnits("app.service"),
		Prepare:   true,
		Env:       []string{"WIKI_NAME=My Wiki", "WIKI_TRICKY=" + trickyValue},
		ExtraArgs: []string{"--bind-ro=" + secrets + ":/run/secrets"},
	})
	if state, err := c.WaitRunning(60 * time.Second); err != nil || state != "running" {
		failed, _, _, _ := c.Exec("systemctl", "--failed", "--no-pager")
		t.Fatalf("state %q, %v; failed units:\n%s", state, err, failed)
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(c.Volume(), "out", name))
		if err != nil {
			t.Fatalf("app.service did not write %s: %v", name, err)
		}
		return string(data)
	}
	if got := read("name"); got != "My Wiki" {
		t.Errorf("WIKI_NAME in the unit = %q", got)
	}
	// The real systemd parsed params.env: the value must come back byte for byte.
	if got := read("tricky"); got != trickyValue {
		t.Errorf("WIKI_TRICKY in the unit = %q, want %q", got, trickyValue)
	}
	if got := read("port"); got != "8080" {
		t.Errorf("WIKI_PORT (default) in the unit = %q", got)
	}
	if got := read("password"); got != secretValue {
		t.Errorf("the credential in the unit = %q", got)
	}

	// The secret appears nowhere else: journal, console, environments, env file, status.
	journal := c.MustExec("journalctl", "--no-pager", "-o", "verbose")
	if strings.Contains(journal, secretValue) {
		t.Errorf("the journal holds the secret")
	}
	if !strings.Contains(journal, "app started") {
		t.Errorf("the journal lacks app.service's output; the check above may be blind")
	}
	environs := c.MustExec("sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")
	if strings.Contains(environs, secretValue) {
		t.Errorf("a process environment holds the secret")
	}
	if !strings.Contains(environs, "WIKI_NAME=My Wiki") {
		t.Errorf("no environment holds WIKI_NAME; the check above may be blind")
	}
	for _, f := range []string{"/run/appagent/params.env", "/run/appagent/params-status.json"} {
		if strings.Contains(c.MustExec("cat", f), secretValue) {
			t.Errorf("%s holds the secret", f)
		}
	}
	if got := c.MustExec("stat", "-c", "%a %U", "/run/appagent/credentials", "/run/appagent/credentials/WIKI_ADMIN_PASSWORD"); got != "700 root\n600 root" {
		t.Errorf("credential modes = %q", got)
	}
	st, err := os.Stat(filepath.Join(c.Volume(), ".appagent/params.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("params.json on the volume: %v, %v", st, err)
	}
	if _, err := c.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Output(), secretValue) {
		t.Errorf("the container's stdout holds the secret")
	}

	// A second start needs no parameters: the stored ones are used.
	c2 := nspawn.Boot(t, nspawn.Options{Root: c.Root(), Volume: c.Volume()})
	if state, err := c2.WaitRunning(60 * time.Second); err != nil || state != "running" {
		t.Fatalf("second start: state %q, %v", state, err)
	}
	if got := c2.MustExec("cat", "/run/appagent/params/WIKI_NAME"); got != "My Wiki" {
		t.Errorf("second start: WIKI_NAME = %q", got)
	}
	if got := c2.MustExec("cat", "/run/appagent/credentials/WIKI_ADMIN_PASSWORD"); got != secretValue {
		t.Errorf("second start: the secret was not kept")
	}
}

// The hint init prints with a parameter error works: the arguments after the image go to
// appagent init (the error itself is TestScenarios/params-missing).
func TestParamsHelpHintPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: bootContainerfile,
		Files:         map[string]string{"appagent.yaml": paramsConfig},
	})
	h := podman.Run(t, img, podman.RunOptions{Cmd: []string{"--help-params"}})
	if code, err := h.Wait(60 * time.Second); err != nil || code != 0 {
		t.Fatalf("--help-params: exit %d, %v\n%s", code, err, h.Logs())
	}
	if logs := h.Logs(); !strings.Contains(logs, "WIKI_ADMIN_PASSWORD") || !strings.Contains(logs, "required, secret") {
		t.Errorf("--help-params output:\n%s", logs)
	}
}

// A podman secret (mounted at /run/secrets/NAME) reaches a unit through LoadCredential=, also
// where systemd cannot mount its credentials ramfs, and is in no log or environment.
func TestParamsSecretPodman(t *testing.T) {
	podman.Require(t)
	img := podman.Build(t, podman.BuildOptions{
		Containerfile: `FROM {{BASE}}
COPY appagent /usr/bin/appagent
COPY appagent.yaml /etc/appagent/appagent.yaml
COPY app.service /etc/systemd/system/app.service
RUN ["/bin/ln", "-s", "/etc/systemd/system/app.service", "/etc/systemd/system/multi-user.target.wants/app.service"]
RUN ["/usr/bin/appagent", "prepare"]
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/bin/appagent", "init"]
`,
		Files: map[string]string{"appagent.yaml": paramsConfig, "app.service": appUnit},
	})
	secretFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(secretFile, []byte(secretValue), 0o600); err != nil {
		t.Fatal(err)
	}
	name := "appagent-test-secret-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if out, err := exec.Command("podman", "secret", "create", name, secretFile).CombinedOutput(); err != nil {
		t.Fatalf("podman secret create: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("podman", "secret", "rm", name).Run() })
	c := podman.Run(t, img, podman.RunOptions{
		Env:  []string{"WIKI_NAME=Podman Wiki", "WIKI_TRICKY=" + trickyValue},
		Args: []string{"--secret", name + ",target=WIKI_ADMIN_PASSWORD"},
	})
	state, err := c.WaitRunning(90 * time.Second)
	if err != nil || state != "running" {
		failed, _, _, _ := c.Exec("systemctl", "--failed", "--no-pager")
		t.Fatalf("state %q, %v; failed units:\n%s\nlogs:\n%s", state, err, failed, c.Logs())
	}
	for file, want := range map[string]string{"name": "Podman Wiki", "tricky": trickyValue, "password": secretValue} {
		out, _, code, err := c.Exec("cat", "/data/out/"+file)
		if err != nil || code != 0 || out != want {
			t.Errorf("/data/out/%s = %q (exit %d, %v), want %q", file, out, code, err, want)
		}
	}
	environs, _, _, _ := c.Exec("sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")
	journal, _, _, _ := c.Exec("journalctl", "--no-pager", "-o", "verbose")
	if strings.Contains(environs, secretValue) || strings.Contains(journal, secretValue) {
		t.Errorf("the secret is in a process environment or the journal")
	}
	stop(t, c)
	if strings.Contains(c.Logs(), secretValue) {
		t.Errorf("podman logs shows the secret")
	}
}

const identityConfig = `volume:
  path: /data
parameters:
  - name: APP_FQDN
    description: the name people reach the application by
    type: fqdn
    required: true
identity: APP_FQDN
`

// A secret given by an environment variable reaches the unit, and after `appagent init` stored
// it, no process in the container carries it in its environment (systemd, the keeper, units).
func TestParamsSecretByEnvNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files:   map[string]string{"/etc/appagent/appagent.yaml": paramsConfig, "/etc/systemd/system/app.service": appUnit},
		Setup:   enableUnits("app.service"),
		Prepare: true,
		Env:     []string{"WIKI_NAME=x", "WIKI_ADMIN_PASSWORD=" + secretValue},
	})
	waitRunning(t, c)
	if got, _ := os.ReadFile(filepath.Join(c.Volume(), "out", "password")); string(got) != secretValue {
		t.Errorf("the unit got %q", got)
	}
	environs := c.MustExec("sh", "-c", "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")
	if strings.Contains(environs, secretValue) {
		t.Errorf("a process environment in the container holds the secret")
	}
	if !strings.Contains(environs, "WIKI_NAME=x") {
		t.Errorf("no environment holds WIKI_NAME; the check above may be blind")
	}
}

// In JSON log mode init's refusal is one JSON entry (priority err) naming every problem, and
// nothing else on stdout is plain text.
func TestParamsMissingJSONNspawn(t *testing.T) {
	nspawn.Require(t)
	c := nspawn.Boot(t, nspawn.Options{
		Files:   map[string]string{"/etc/appagent/appagent.yaml": paramsConfig, "/etc/systemd/system/app.service": appUnit},
		Setup:   enableUnits("app.service"),
		Prepare: true,
		Env:     []string{"APPAGENT_LOG_FORMAT=json", "WIKI_PORT=http"},
	})
	code, err := c.Wait(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != int(exitcode.Params) {
		t.Errorf("exit code %d, want %d", code, exitcode.Params)
	}
	var refusal string
	for _, l := range strings.Split(strings.TrimSpace(c.Output()), "\n") {
		var v struct {
			Priority int    `json:"priority"`
			Message  string `json:"message"`
		}
		if !strings.HasPrefix(l, "{") {
			// systemd-nspawn's own notes on its stdout are not the container's.
			if strings.Contains(l, "appagent") || strings.Contains(l, "WIKI_") {
				t.Errorf("init printed plain text in JSON mode: %q", l)
			}
			continue
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("a line of the output is not JSON: %v: %q", err, l)
		}
		if v.Priority == 3 {
			refusal = v.Message
		}
	}
	for _, want := range []string{"WIKI_NAME (the wiki's title) is required and not set", `"http" is not a port number`} {
		if !strings.Contains(refusal, want) {
			t.Errorf("the error entry lacks %q: %q", want, refusal)
		}
	}
}
