package checks

import (
	"os"
	"sort"

	"github.com/appagent/appagent/agent/layout"
	"github.com/appagent/appagent/agent/params"
)

// baseEnv is what every command the agent runs starts from: no variable of the agent's own.
var baseEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}

// unitFiles are the environment files the generator gives every unit (agent/units): the
// parameters that are not secret, and the replication role. A command check reads them as
// the units do, so a check script can ask what the application's units see (the wiki's
// replication check asks APPAGENT_ROLE). Secrets are not among them.
var unitFiles = []string{params.EnvFilePath(params.RuntimeDir), layout.RoleEnvFile}

// commandEnv is baseEnv plus the variables of unitFiles as they are now (missing files add
// nothing; the agent rewrites them at every start).
func commandEnv() []string {
	env := append([]string{}, baseEnv...)
	for _, f := range unitFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		m, err := params.ParseEnvFile(string(data))
		if err != nil {
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env = append(env, k+"="+m[k])
		}
	}
	return env
}
