package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/nspawn"
)

// A secret given by env is dropped from init's environment as soon as it is resolved: a
// volume migration step, run by init before systemd, does not inherit it.
func TestSecretNotInMigrationEnvNspawn(t *testing.T) {
	nspawn.Require(t)
	const param = `parameters:
  - name: APP_PASSWORD
    description: a secret given by env
    secret: true
    required: true
`
	const dumpEnv = "#!/bin/sh\nset -e\nenv > \"$APPAGENT_VOLUME/migration-env\"\n"
	vol := t.TempDir()
	v1 := volFilesV1()
	v1["/etc/appagent/appagent.yaml"] = volConfigV1 + param
	c1 := nspawn.Boot(t, nspawn.Options{Files: v1, Prepare: true, Volume: vol, Env: []string{"APP_PASSWORD=" + secretValue}})
	mustRun(t, c1)
	if _, err := c1.Stop(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	v2 := volFilesV2()
	v2["/etc/appagent/appagent.yaml"] = volConfigV2 + param
	v2["/usr/libexec/appagent/migrations/1-2"] = dumpEnv
	c2 := nspawn.Boot(t, nspawn.Options{Files: v2, Prepare: true, Volume: vol, Env: []string{"APP_PASSWORD=" + secretValue}})
	mustRun(t, c2)
	env := readVol(t, vol, "migration-env")
	if !strings.Contains(env, "APPAGENT_VOLUME=") {
		t.Fatalf("the migration step did not run or wrote no environment:\n%s", env)
	}
	if strings.Contains(env, secretValue) {
		t.Errorf("the migration step inherited the secret given by env")
	}
	if strings.Contains(c2.MustExec("sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"), secretValue) {
		t.Errorf("systemd's environment (/proc/1/environ) holds the secret")
	}
}
