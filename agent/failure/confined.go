package failure

import (
	"strings"

	"github.com/appagent/appagent/agent/confine"
)

// ConfinedWhy explains a failed hook that ran confined (argv, its ExecStart=, goes through
// `appagent confine`, agent/units) and whose log has "Permission denied": for a process of
// root that is almost always Landlock refusing a write outside the hook's directories, and
// nothing in the message says so. "" when that is not the case.
func ConfinedWhy(hook string, argv []string, log []string) string {
	if len(argv) < 2 || argv[1] != confine.Command {
		return ""
	}
	denied := false
	for _, l := range log {
		if strings.Contains(l, "Permission denied") {
			denied = true
			break
		}
	}
	if !denied {
		return ""
	}
	return "the hook runs confined: it may write only beneath the volume, " + strings.Join(confine.Scratch, ", ") + " and the directories of hooks." +
		hook + ".writes; a \"Permission denied\" on a write elsewhere is that. Keep that state on the volume (volume.paths), " +
		"or declare the directory in hooks." + hook + ".writes (docs/volume.md, \"What hooks may write\")"
}

// execArgv is the argv of the first command of an ExecStart= property as D-Bus gives it
// (a(sasbttttuii): path, argv, ignore errors, times, pid, code, status); nil when it has none.
func execArgv(v any) []string {
	cmds, ok := v.([][]any)
	if !ok || len(cmds) == 0 || len(cmds[0]) < 2 {
		return nil
	}
	argv, _ := cmds[0][1].([]string)
	return argv
}
