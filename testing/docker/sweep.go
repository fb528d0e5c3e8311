package docker

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/appagent/appagent/testing/internal/harness"
)

var sweepOnce sync.Once

// sweep removes, once per test process, the containers, images and volumes labelled
// appagent-test.owner whose owner test process is no longer alive (a crashed or timed-out run).
func sweep(t testing.TB) {
	sweepOnce.Do(func() {
		for _, k := range Kinds {
			items, err := list(k)
			if err != nil {
				t.Logf("docker: sweep: %v", err)
				continue
			}
			for id, owner := range items {
				if owner == "" || harness.OwnerAlive(owner) {
					continue
				}
				r, err := Engine.Cmd(Engine.CommandTimeout, nil, append(k.Remove, id)...)
				if err != nil || r.Code != 0 {
					t.Logf("docker: sweep: docker %s %s: exit %d %v %s", strings.Join(k.Remove, " "), id, r.Code, err, r.Stderr)
					continue
				}
				t.Logf("docker: sweep: removed %s %s of dead test process %s", k.Name, id, owner)
			}
		}
	})
}

// Kind is one kind of Docker resource the harness labels with its owner.
type Kind struct {
	Name   string
	List   []string // prints "ID OWNER" a line for the labelled ones
	Remove []string
}

// Kinds are what the harness makes: containers first (they hold images and volumes).
var Kinds = []Kind{
	{"container", []string{"ps", "-a", "--filter", "label=" + harness.LabelOwner, "--format", `{{.ID}} {{.Label "` + harness.LabelOwner + `"}}`}, []string{"rm", "-f", "-v"}},
	{"image", []string{"images", "--filter", "label=" + harness.LabelOwner, "--format", "{{.ID}}"}, []string{"rmi", "-f"}},
	{"volume", []string{"volume", "ls", "--filter", "label=" + harness.LabelOwner, "--format", `{{.Name}} {{.Label "` + harness.LabelOwner + `"}}`}, []string{"volume", "rm", "-f"}},
}

// list returns id -> owner of the labelled resources of kind k.
func list(k Kind) (map[string]string, error) {
	r, err := Engine.Cmd(Engine.CommandTimeout, nil, k.List...)
	if err != nil || r.Code != 0 {
		return nil, fmt.Errorf("docker %s: exit %d %v %s", strings.Join(k.List, " "), r.Code, err, strings.TrimSpace(r.Stderr))
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		id, owner, _ := strings.Cut(strings.TrimSpace(line), " ")
		if id == "" {
			continue
		}
		if k.Name == "image" {
			// `docker images` has no label column: ask the image itself.
			lr, err := Engine.Cmd(Engine.CommandTimeout, nil, "image", "inspect", "--format", `{{index .Config.Labels "`+harness.LabelOwner+`"}}`, id)
			if err != nil || lr.Code != 0 {
				continue
			}
			owner = strings.TrimSpace(lr.Stdout)
		}
		out[id] = owner
	}
	return out, nil
}
