package upgrade

import (
	"strings"
	"testing"
)

func file(sha string) *Entry {
	return &Entry{Type: TypeFile, Mode: 0o644, Size: int64(len(sha)), SHA256: sha}
}
func dir() *Entry                        { return &Entry{Type: TypeDir, Mode: 0o755} }
func link(t string) *Entry               { return &Entry{Type: TypeSymlink, Mode: 0o777, Target: t} }
func withMode(e *Entry, m uint32) *Entry { c := *e; c.Mode = m; return &c }

// TestDecide is the decision table of docs/volume.md, row by row.
func TestDecide(t *testing.T) {
	tests := []struct {
		name          string
		old, new, cur *Entry
		want          Action
		warn          bool
	}{
		{"new in the image", nil, file("n"), nil, ActInstall, false},
		{"unchanged everywhere", file("a"), file("a"), file("a"), ActNone, false},
		{"user never changed, image changed", file("a"), file("b"), file("a"), ActReplace, false},
		{"user changed, image changed", file("a"), file("b"), file("u"), ActKeepNew, true},
		{"user changed, image did not", file("a"), file("a"), file("u"), ActNone, false},
		{"user changed it to the new version", file("a"), file("b"), file("b"), ActNone, false},
		{"image dropped it, user never changed", file("a"), nil, file("a"), ActRemove, false},
		{"image dropped it, user changed", file("a"), nil, file("u"), ActKeep, true},
		{"image dropped it, user removed it", file("a"), nil, nil, ActNone, false},
		{"user removed, image unchanged", file("a"), file("a"), nil, ActNone, false},
		{"user removed, image changed", file("a"), file("b"), nil, ActKeepNew, true},
		{"not from an earlier image, differs", nil, file("n"), file("u"), ActKeepNew, true},
		{"not from an earlier image, same", nil, file("n"), file("n"), ActNone, false},
		{"file became dir, user never changed", file("a"), dir(), file("a"), ActReplace, false},
		{"file became dir, user changed", file("a"), dir(), file("u"), ActAside, true},
		{"file became dir, user removed", file("a"), dir(), nil, ActInstall, false},
		{"dir became file", dir(), file("n"), dir(), ActReplace, true},
		{"dir became file, user made it a link", dir(), file("n"), link("/"), ActKeepNew, true},
		{"planted link where a dir stays", dir(), dir(), link("/"), ActNone, false},
		{"planted link where a new dir goes", nil, dir(), link("/etc"), ActBlocked, true},
		{"user replaced file by link, image changed", file("a"), file("b"), link("/etc/shadow"), ActKeepNew, true},
		{"symlink retargeted by the image", link("x"), link("y"), link("x"), ActReplace, false},
		{"symlink retargeted by both", link("x"), link("y"), link("z"), ActKeepNew, true},
		{"image changed mode only", file("a"), withMode(file("a"), 0o600), file("a"), ActMeta, false},
		{"user changed mode, image changed mode", file("a"), withMode(file("a"), 0o600), withMode(file("a"), 0o640), ActNone, false},
		{"dir dropped, still a dir", dir(), nil, dir(), ActRemove, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.old, tt.new, tt.cur)
			if d.Action != tt.want || d.Warn != tt.warn {
				t.Errorf("Decide = %s (warn %v, %q), want %s (warn %v)", d.Action, d.Warn, d.Reason, tt.want, tt.warn)
			}
			if d.Warn && d.Reason == "" {
				t.Error("a warning needs a reason")
			}
		})
	}
}

// checkNeverLoses is the table's safety property: a path the user changed is never replaced
// or removed, and a path kept with the image's version beside it is not a directory.
func checkNeverLoses(t *testing.T, old, new, cur *Entry) {
	d := Decide(old, new, cur)
	userChanged := cur != nil && (old == nil || !sameContent(cur, old))
	if userChanged && (d.Action == ActReplace || d.Action == ActRemove) && !(cur.Type == TypeDir && d.Action == ActReplace) {
		t.Fatalf("old %+v new %+v cur %+v: %s destroys a user change", old, new, cur, d.Action)
	}
	if d.Action == ActKeepNew && new != nil && new.Type == TypeDir {
		t.Fatalf("keep+new of a directory")
	}
	if d.Action == ActInstall && cur != nil {
		t.Fatalf("install over an existing path")
	}
	if new == nil && (d.Action == ActInstall || d.Action == ActReplace || d.Action == ActKeepNew) {
		t.Fatalf("%s without a new entry", d.Action)
	}
}

func FuzzDecide(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), "a", "b", "a", uint16(0o644), uint16(0o600), uint16(0o644))
	f.Add(uint8(0), uint8(2), uint8(3), "a", "", "/", uint16(0), uint16(0o755), uint16(0o777))
	f.Fuzz(func(t *testing.T, ot, nt, ct uint8, oc, nc, cc string, om, nm, cm uint16) {
		mk := func(typ uint8, c string, m uint16) *Entry {
			switch typ % 4 {
			case 0:
				return nil
			case 1:
				return &Entry{Type: TypeFile, Size: int64(len(c)), SHA256: c, Mode: uint32(m) & 0o7777}
			case 2:
				return &Entry{Type: TypeDir, Mode: uint32(m) & 0o7777}
			default:
				return &Entry{Type: TypeSymlink, Target: c, Mode: 0o777}
			}
		}
		checkNeverLoses(t, mk(ot, oc, om), mk(nt, nc, nm), mk(ct, cc, cm))
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"manifest_version":1,"build_id":"x","volume_format":1,"volume":"/data","paths":["etc/a"],"entries":[{"path":"etc","type":"dir","mode":493,"uid":0,"gid":0}]}`))
	f.Add([]byte(`{"manifest_version":1,"volume_format":1,"entries":[{"path":"../etc/shadow","type":"file","mode":420}]}`))
	f.Add([]byte(`{"manifest_version":1,"volume_format":1,"entries":[{"path":"/etc","type":"dir"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz", data)
		if err != nil {
			return
		}
		for _, e := range m.Entries {
			if checkRel(e.Path) != nil || e.Path == "" || strings.Contains("/"+e.Path+"/", "/../") {
				t.Fatalf("accepted bad path %q", e.Path)
			}
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseManifest("again", out); err != nil {
			t.Fatalf("a parsed manifest does not parse again: %v\n%s", err, out)
		}
	})
}

func FuzzStateFiles(f *testing.F) {
	f.Add([]byte("20261125T150700Z-0123456789abcdef\n"))
	f.Add([]byte("../../etc"))
	f.Add([]byte("3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if id, err := parseBuildID("b", data); err == nil {
			if strings.ContainsAny(id, "/ \n") || id == "" {
				t.Fatalf("accepted build id %q", id)
			}
			if s := shortID(id); strings.Contains(s, "/") || s == "" {
				t.Fatalf("short id %q", s)
			}
		}
		if n, err := parseFormat("f", data); err == nil && n < 1 {
			t.Fatalf("format %d accepted", n)
		}
	})
}

func TestManifestRejects(t *testing.T) {
	for _, bad := range []string{
		`{"manifest_version":1,"volume_format":1,"entries":[{"path":"../x","type":"file"}]}`,
		`{"manifest_version":1,"volume_format":1,"entries":[{"path":"a//b","type":"file"}]}`,
		`{"manifest_version":1,"volume_format":1,"entries":[{"path":"a","type":"file"},{"path":"a","type":"dir"}]}`,
		`{"manifest_version":1,"volume_format":1,"entries":[{"path":"a","type":"door"}]}`,
		`{"manifest_version":1,"volume_format":1,"entries":[{"path":"a","type":"file","link":"/etc/shadow"}]}`,
		`{"manifest_version":2,"volume_format":1,"entries":[]}`,
		`{"manifest_version":1,"volume_format":1,"entries":[],"extra":1}`,
	} {
		if _, err := ParseManifest("m", []byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// A manifest with anything after its JSON object is refused (a damaged or planted file).
func TestParseManifestTrailingData(t *testing.T) {
	good := `{"manifest_version":1,"build_id":"x","volume_format":1,"volume":"/data","paths":["etc/a"],"entries":[]}`
	if _, err := ParseManifest("m", []byte(good+"\n")); err != nil {
		t.Fatalf("a good manifest with a newline: %v", err)
	}
	for _, tail := range []string{`{"manifest_version":1}`, "garbage", `]`} {
		if _, err := ParseManifest("m", []byte(good+"\n"+tail)); err == nil || !strings.Contains(err.Error(), "data after its end") {
			t.Errorf("trailing %q: %v", tail, err)
		}
	}
}

// Values from the volume's manifest that reach messages cannot carry a line of their own.
func TestParseManifestNoInjectedLines(t *testing.T) {
	for _, m := range []string{
		`{"manifest_version":1,"build_id":"x\nappagent: volume is fine","volume_format":1,"entries":[]}`,
		`{"manifest_version":1,"volume_format":1,"entries":[{"path":"etc/a\nappagent: all good","type":"bogus"}]}`,
	} {
		_, err := ParseManifest("m", []byte(m))
		if err == nil {
			t.Errorf("accepted %s", m)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("the message has a line break: %q", err.Error())
		}
	}
}
