package integration

import (
	"github.com/appagent/appagent/agent/exitcode"
)

// scenarios are the behaviours every runtime of the matrix must share (TestScenarios runs
// them). The declarations and files are those of the tests that first held each behaviour on
// one runtime.
var scenarios = []scenario{
	{
		name:   "boot",
		config: minimalConfig,
		steps: []step{
			{do: "running"},
			{do: "exec", args: []string{"systemctl", "is-active", "appagent.service"}, want: []string{"active"}},
			{do: "exec", args: []string{"appagent", "status", "--wait=30s"}, want: []string{"ready"}},
			{do: "stop", code: 0},
		},
	},
	{
		// Every problem of the parameters at once, before the volume is touched.
		name:   "params-missing",
		config: paramsConfig,
		files:  map[string]string{"/etc/systemd/system/app.service": appUnit},
		enable: []string{"app.service"},
		env:    []string{"WIKI_NAEM=typo", "WIKI_PORT=http"},
		steps: []step{
			{do: "exit", code: int(exitcode.Params), want: []string{
				"WIKI_NAME (the wiki's title) is required and not set",
				"WIKI_ADMIN_PASSWORD (password of the wiki's admin account) is required and not set",
				"did you mean WIKI_NAME?",
				`"http" is not a port number`,
				"--help-params",
			}},
			{do: "volume-empty"},
		},
	},
	{
		// A failing configure hook stops the container with its declared code, says why, and
		// leaves no stamp and no started application.
		name:   "configure-fails",
		config: failingHooksConfig,
		files:  map[string]string{"/usr/local/bin/configure": failingConfigure, "/etc/systemd/system/app.service": hooksAppUnit},
		enable: []string{"app.service"},
		steps: []step{
			{do: "exit", code: 33, want: []string{
				"appagent-configure.service (the image's configure hook) failed: exit status 3; the container exits with code 33",
				"cannot reach the database at db:5432",
			}},
			{do: "volume-lacks", args: []string{".appagent/stamps/configure", "app.out"}},
		},
	},
	{
		name:   "essential-unit-fails",
		config: essentialConfig,
		files:  map[string]string{"/etc/systemd/system/app.service": failingAppUnit},
		enable: []string{"app.service"},
		steps: []step{
			{do: "exit", code: 42, want: []string{
				"appagent: app.service failed: exit status 4; the container exits with code 42",
				"app: config file /etc/app.conf is missing",
			}},
		},
	},
	{
		// The identity resolves everywhere; nspawn lets init set the hostname, podman and
		// docker forbid sethostname without CAP_SYS_ADMIN, and the output names the flag.
		name:   "identity",
		config: identityConfig,
		env:    []string{"APP_FQDN=wiki.example.test"},
		steps: []step{
			{do: "running"},
			{do: "exec", args: []string{"getent", "hosts", "wiki.example.test"}, want: []string{"wiki.example.test wiki"}},
			{do: "exec", args: []string{"hostname"}, want: []string{"wiki.example.test"}, only: []string{"nspawn"}},
			{do: "running", want: []string{"--hostname wiki.example.test"}, only: []string{"podman", "docker"}},
		},
	},
}
