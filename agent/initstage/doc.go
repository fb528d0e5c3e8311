// Package initstage is `appagent init`, the container's entrypoint: the steps that must happen
// before systemd runs, in order, ending by exec'ing systemd as PID 1.
//
// It sequences steps owned by other packages (preflight, parameters, volume, log handover); it
// does not implement them.
//
// The package is named initstage, not init, because Go reserves init for package
// initialisers; it is the `init` stage of the README's table.
package initstage
