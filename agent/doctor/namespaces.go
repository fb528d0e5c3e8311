package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/preflight"
	"github.com/appagent/appagent/agent/units"
)

// checkNamespaces: can units have their own mount namespace, and does a unit need one?
func checkNamespaces(ctx context.Context, cfg *config.Config, sys *preflight.System, o Options) preflight.Result {
	r := preflight.Result{Check: "namespaces"}
	err := sys.MountNamespace()
	if err == nil {
		r.Severity, r.Message = preflight.Pass, "units can have their own mount namespace (DynamicUser=, PrivateTmp=, ProtectSystem= and the like work)"
		return r
	}
	cannot := fmt.Sprintf("this container cannot create mount namespaces (%v: it lacks CAP_SYS_ADMIN, which podman and Docker drop by default)", err)
	if o.Units == nil {
		r.Severity = preflight.Info
		r.Message = cannot + "; units with DynamicUser=, BindPaths=, TemporaryFileSystem= or RootDirectory= will fail with 226/NAMESPACE, others run without PrivateTmp=, ProtectSystem= and the like"
		r.Fix = units.NamespaceFix
		return r
	}
	failed, _ := o.Units.Failed(ctx)
	var broken []string
	for _, u := range failed {
		if st, err := o.Units.ExitStatus(ctx, u); err == nil && st == 226 {
			broken = append(broken, withSettings(ctx, o.Units, u))
		}
	}
	if len(broken) > 0 {
		r.Severity = preflight.Fail
		r.Message = fmt.Sprintf("%s failed with 226/NAMESPACE: %s", strings.Join(broken, "; "), cannot)
		r.Fix = units.NamespaceFix
		return r
	}
	var atRisk []string
	for _, u := range cfg.Units {
		if s := settings(ctx, o.Units, u.Name); len(s) > 0 {
			atRisk = append(atRisk, u.Name+" ("+strings.Join(s, ", ")+")")
		}
	}
	sort.Strings(atRisk)
	if len(atRisk) > 0 {
		r.Severity = preflight.Warn
		r.Message = fmt.Sprintf("%s, which %s need: they fail with 226/NAMESPACE when they start", cannot, strings.Join(atRisk, "; "))
		r.Fix = units.NamespaceFix
		return r
	}
	r.Severity = preflight.Info
	r.Message = cannot + "; no unit of the image needs one (systemd runs units without their PrivateTmp=, ProtectSystem= and the like)"
	return r
}

func settings(ctx context.Context, u Units, unit string) []string {
	props, err := u.Properties(ctx, unit, units.SandboxProperties)
	if err != nil {
		return nil
	}
	return units.Sandboxing(props)
}

func withSettings(ctx context.Context, u Units, unit string) string {
	if s := settings(ctx, u, unit); len(s) > 0 {
		return unit + " (" + strings.Join(s, ", ") + ")"
	}
	return unit
}
