package failure

// WillRestart tells whether systemd restarts a service after this failure, from its Restart=
// setting and the failure's $SERVICE_RESULT, as systemd.service(5)'s table says:
//
//	Restart=      unclean exit code  unclean signal  timeout  watchdog
//	always              yes               yes          yes       yes
//	on-failure          yes               yes          yes       yes
//	on-abnormal                           yes          yes       yes
//	on-abort                              yes
//	on-watchdog                                                  yes
//	on-success, no  (never after a failure)
//
// A unit that hit its start limit is not restarted whatever its setting.
func WillRestart(restart, result string) bool {
	kind := ""
	switch result {
	case "exit-code", "resources", "protocol":
		kind = "exit"
	case "signal", "core-dump", "oom-kill":
		kind = "signal"
	case "timeout":
		kind = "timeout"
	case "watchdog":
		kind = "watchdog"
	default: // success, start-limit-hit, exec-condition, ...
		return false
	}
	switch restart {
	case "always", "on-failure":
		return true
	case "on-abnormal":
		return kind != "exit"
	case "on-abort":
		return kind == "signal"
	case "on-watchdog":
		return kind == "watchdog"
	}
	return false
}
