package params

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/appagent/appagent/agent/config"
)

// Describe prints the image's parameters for people: `appagent init --help-params`, which a
// user reaches with `podman run --rm IMAGE --help-params` (the arguments after the image go to
// the entrypoint).
func Describe(w io.Writer, cfg *config.Config) error {
	if len(cfg.Parameters) == 0 {
		_, err := fmt.Fprintln(w, "This image declares no parameters.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tVALUE\tON CHANGE\tDESCRIPTION")
	for _, p := range cfg.Parameters {
		typ := p.Type
		if typ == "" {
			typ = "string"
		}
		var checks []string
		if p.Min != nil {
			checks = append(checks, fmt.Sprintf("min %d", *p.Min))
		}
		if p.Max != nil {
			checks = append(checks, fmt.Sprintf("max %d", *p.Max))
		}
		if len(p.OneOf) > 0 {
			checks = append(checks, "one of "+strings.Join(p.OneOf, "|"))
		}
		if p.Pattern != "" {
			checks = append(checks, "pattern "+p.Pattern)
		}
		if len(checks) > 0 {
			typ += " (" + strings.Join(checks, ", ") + ")"
		}
		value := "optional"
		switch {
		case p.Required:
			value = "required"
		case p.Default != nil && p.Secret:
			value = "has a default"
		case p.Default != nil:
			value = fmt.Sprintf("default %q", *p.Default)
		}
		if p.Secret {
			value += ", secret"
		}
		onChange := p.OnChange
		if onChange == "" {
			onChange = "ignore"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, typ, value, onChange, oneLine(p.Description))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, `
Give a value with -e NAME=VALUE, -e NAME_FILE=/path/to/file, or a secret file /run/secrets/NAME
(podman run --secret SECRET,target=NAME). Values are stored on the volume at the first start;
later starts need none. See docs/parameters.md.
`)
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
