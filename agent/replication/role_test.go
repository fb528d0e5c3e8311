package replication

import (
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

func TestOrdinal(t *testing.T) {
	for _, c := range []struct {
		host string
		want int
	}{
		{"wiki-0", 0}, {"wiki-1", 1}, {"my-wiki-12", 12}, {"wiki-3.wiki.default.svc.cluster.local", 3},
		{"wiki", -1}, {"wiki-", -1}, {"wiki-01", -1}, {"-1", -1}, {"Wiki-1", -1}, {"wiki-1x", -1},
		{"", -1}, {"wiki-1234567890", -1},
	} {
		if got := Ordinal(c.host); got != c.want {
			t.Errorf("Ordinal(%q) = %d, want %d", c.host, got, c.want)
		}
	}
}

func TestDecide(t *testing.T) {
	r := &config.Replication{Role: "WIKI_ROLE", Primary: "WIKI_PRIMARY"}
	for _, c := range []struct {
		name          string
		role, primary string
		host          string
		want          Role
		errs          []string // each must be in the error
	}{
		{name: "primary by parameter", role: "primary", host: "x",
			want: Role{Name: "primary", Ordinal: -1, From: "WIKI_ROLE=primary"}},
		{name: "replica by parameter", role: "replica", primary: "db1", host: "x",
			want: Role{Name: "replica", Primary: "db1", Ordinal: -1, From: "WIKI_ROLE=replica"}},
		{name: "ordinal 0 is the primary", role: "ordinal", primary: "wiki-0.wiki", host: "wiki-0",
			want: Role{Name: "primary", Primary: "wiki-0.wiki", Ordinal: 0, From: "hostname wiki-0 (WIKI_ROLE=ordinal)"}},
		{name: "ordinal 2 is a replica", role: " ordinal ", primary: "wiki-0.wiki", host: "wiki-2",
			want: Role{Name: "replica", Primary: "wiki-0.wiki", Ordinal: 2, From: "hostname wiki-2 (WIKI_ROLE=ordinal)"}},
		{name: "replica without primary", role: "replica", host: "x",
			errs: []string{"WIKI_PRIMARY is empty", "set WIKI_PRIMARY"}},
		{name: "ordinal without a StatefulSet name", role: "ordinal", primary: "p", host: "web",
			errs: []string{`hostname "web" is not a StatefulSet pod's`, "set WIKI_ROLE to primary or replica"}},
		{name: "unset role", host: "x", errs: []string{"WIKI_ROLE is not set", "primary, replica, ordinal"}},
		{name: "unknown role", role: "master", host: "x", errs: []string{`WIKI_ROLE="master" is not a role`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vals := map[string]string{"WIKI_ROLE": c.role, "WIKI_PRIMARY": c.primary}
			got, err := Decide(r, func(n string) string { return vals[n] }, c.host)
			if len(c.errs) > 0 {
				if err == nil {
					t.Fatalf("no error, role %+v", got)
				}
				if exitcode.Of(err) != exitcode.Params {
					t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.Params)
				}
				for _, e := range c.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error %q lacks %q", err, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
