package params

import (
	"fmt"
	"io"
	"time"

	"github.com/appagent/appagent/agent/config"
)

// Adopt is init's part of adopting a volume that has the application's data but no appagent
// state (agent/upgrade asks for consent first). It runs before the volume changes:
//   - the configure hook counts as done: running it again would set the application up anew
//     on its existing data (a reset admin password, a second install);
//   - the values given at this start for on_change: reconfigure parameters go to the
//     reconfigure hook, which applies them to the application that has its own;
//   - each parameter that falls back to the image's default is named on out: the
//     application may use another value, and only the operator knows it.
func Adopt(cfg *config.Config, set *Set, out io.Writer) error {
	stamp := []byte(time.Now().UTC().Format(time.RFC3339) + " adopted\n")
	if err := writeVolume(cfg.Volume.Path, StampsDir+"/"+ConfiguredStamp, stamp, 0o644); err != nil {
		return fmt.Errorf("adopting the volume: %w", err)
	}
	byName := map[string]config.Parameter{}
	for _, p := range cfg.Parameters {
		byName[p.Name] = p
	}
	var changed []string
	for _, v := range set.Values {
		p := byName[v.Name]
		switch {
		case v.Source.given() && p.OnChange == "reconfigure":
			changed = append(changed, v.Name)
		case v.Source == FromDefault:
			shown := fmt.Sprintf("%q", v.Value)
			if v.Secret {
				shown = "(a secret)"
			}
			fmt.Fprintf(out, "appagent init: warning: adopted volume: %s takes the image's default %s; if the application on this volume uses another value, stop now and start again with -e %s=VALUE (it is stored from then on)\n", v.Name, shown, v.Name)
		}
	}
	set.Changed = append(set.Changed, changed...)
	return MarkReconfigure(cfg.Volume.Path, changed)
}
