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
		// A check does not run before its unit started: a hook longer than the start period
		// (a replica's join waiting for its primary) is no failure, and no failure mail.
		name:   "check-waits-for-its-unit",
		config: slowHookCheckConfig,
		files:  map[string]string{"/etc/systemd/system/app.service": readyAppUnit},
		enable: []string{"app.service"},
		steps: []step{
			{do: "exec", args: []string{"appagent", "status", "--wait=60s"}, want: []string{"ready"}},
			{do: "exec", args: []string{"sh", "-c", checkHookLines}, want: []string{"[1]", "app failing"}},
		},
	},
	{
		// A hook runs confined to the volume, the scratch directories and its declared
		// writes: a link on the volume does not lead its write into the image.
		name:       "hook-confined",
		config:     confinedHookConfig,
		files:      map[string]string{"/usr/local/bin/planted-write": plantedWriteHook, "/etc/app-victim": "image file\n", "/var/lib/app-extra/.keep": ""},
		nspawnArgs: []string{"--system-call-filter=" + nspawnLandlock},
		steps: []step{
			{do: "running", want: []string{
				"hook: the write through the planted link was refused",
				"hook: own write done", "hook: scratch write done", "hook: declared write done",
			}, not: []string{"ESCAPED", "runs unconfined"}},
			{do: "exec", args: []string{"cat", "/etc/app-victim"}, want: []string{"image file"}},
			{do: "exec", args: []string{"cat", "/data/own", "/var/lib/app-extra/made"}, want: []string{"own\nextra\n"}},
		},
	},
	{
		// A confined hook that writes outside its directories fails, and the report says
		// why and what to declare.
		name:       "hook-write-denied",
		config:     "volume:\n  path: /data\nhooks:\n  configure: /usr/local/bin/write-etc\n",
		files:      map[string]string{"/usr/local/bin/write-etc": "#!/bin/sh\necho 'setting=1' > /etc/app.conf\n"},
		nspawnArgs: []string{"--system-call-filter=" + nspawnLandlock},
		steps: []step{
			{do: "exit", code: int(exitcode.Configure), want: []string{
				"appagent-configure.service (the image's configure hook) failed: exit status 2",
				"/etc/app.conf: Permission denied",
				"why: the hook runs confined", "hooks.configure.writes",
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

// slowHookCheckConfig: a configure hook that takes longer than the check's start period, and
// a check of the unit that starts only after it. The check hook logs every transition.
const slowHookCheckConfig = `volume:
  path: /data
units:
  - app.service
checks:
  - name: app
    unit: app.service
    command: test -f /run/app.ready
    interval: 1s
    timeout: 1s
    retries: 1
    start_period: 2s
hooks:
  configure: /bin/sleep 8
  check: /bin/sh -c 'echo "$APPAGENT_CHECK $APPAGENT_CHECK_STATE" >> /run/check-hook.log'
`

const readyAppUnit = `[Unit]
Description=test application that says it is ready

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/touch /run/app.ready

[Install]
WantedBy=multi-user.target
`

// checkHookLines breaks the check and prints, in brackets, how many transitions the check
// hook heard once it heard the break: [1] when nothing failed before.
const checkHookLines = `rm /run/app.ready
for i in $(seq 1 40); do grep -q failing /run/check-hook.log 2>/dev/null && break; sleep 0.25; done
echo "[$(grep -c . /run/check-hook.log)]"; cat /run/check-hook.log`

// confinedHookConfig: a configure hook that may write beneath /var/lib/app-extra besides the
// volume.
const confinedHookConfig = `volume:
  path: /data
hooks:
  configure:
    command: /usr/local/bin/planted-write
    writes: [/var/lib/app-extra]
`

// plantedWriteHook plants a link on the volume to a file of the image and writes through
// it, as a hook that trusts a path on the volume would; then writes where it may.
const plantedWriteHook = `#!/bin/sh
ln -sfn /etc/app-victim /data/planted
if echo pwned 2>/dev/null >/data/planted; then echo "hook: ESCAPED through /data/planted"; else echo "hook: the write through the planted link was refused"; fi
echo own >/data/own && echo "hook: own write done"
mkdir -p /run/app && echo x >/run/app/x && echo "hook: scratch write done"
mkdir -p /var/lib/app-extra && echo extra >/var/lib/app-extra/made && echo "hook: declared write done"
`
