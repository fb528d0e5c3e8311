package upgrade

import (
	"bytes"
	"testing"

	"github.com/appagent/appagent/internal/goldenfile"
)

func samplePlan() *Plan {
	return &Plan{
		Kind: KindUpgrade, Volume: "/data",
		FromBuild: "20261125T151453Z-810b49422c37ef1a", FromFormat: 1,
		ToBuild: "20261125T160102Z-6125c43c88f43aee", ToFormat: 2,
		Backup: "/data/.appagent/backup/20261125T160110Z-810b49422c37ef1a-to-6125c43c88f43aee",
		Steps: []Step{
			{Path: "etc/app/a.conf", Decision: Decide(file("a"), file("b"), file("a"))},
			{Path: "etc/app/b.conf", Decision: Decide(file("a"), file("b"), file("u")), Cur: &Entry{Path: "etc/app/b.conf", Type: TypeFile, Mode: 0o644, Size: 1, SHA256: "u"}},
			{Path: "etc/app/gone.conf", Decision: Decide(file("g"), nil, file("g"))},
			{Path: "etc/app/kept.conf", Decision: Decide(file("k"), nil, file("u"))},
			{Path: "etc/app/new.conf", Decision: Decide(nil, file("n"), nil)},
			{Path: "etc/app/sub", Decision: Decide(dir(), file("n"), dir())},
			{Path: "opt/new", Decision: Decide(nil, dir(), nil)},
		},
		Migrations: []string{"/usr/libexec/appagent/migrations/1-2"},
	}
}

func TestPlanText(t *testing.T) {
	var b bytes.Buffer
	samplePlan().WriteText(&b)
	for _, p := range []*Plan{
		{Kind: KindUpToDate, Volume: "/data", ToBuild: "20261125T160102Z-6125c43c88f43aee", ToFormat: 2},
		{Kind: KindPopulate, Volume: "/data", ToBuild: "20261125T160102Z-6125c43c88f43aee", ToFormat: 2, Files: 27094, Bytes: 544e6, Resume: true},
		{Kind: KindUpgrade, Volume: "/data", ToBuild: "20261125T160102Z-6125c43c88f43aee", ToFormat: 1, FromFormat: 1},
	} {
		b.WriteString("----\n")
		p.WriteText(&b)
	}
	goldenfile.Check(t, "plan.txt", b.Bytes())
}

func TestPlanJSON(t *testing.T) {
	var b bytes.Buffer
	if err := samplePlan().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	goldenfile.Check(t, "plan.json", b.Bytes())
}
