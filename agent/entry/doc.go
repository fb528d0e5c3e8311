// Package entry is `appagent init`, the container's entrypoint: the steps that must happen
// before systemd runs, in order, ending by exec'ing systemd as PID 1.
//
// It sequences steps owned by other packages (preflight, parameters, volume, log handover); it
// does not implement them.
package entry
