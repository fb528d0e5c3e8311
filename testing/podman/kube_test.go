package podman

import "testing"

func TestOwnerOfName(t *testing.T) {
	for name, want := range map[string]string{
		"appagent-test-p123-456-7":          "p123-456",
		"appagent-test-p123-456-7-run-lock": "p123-456",
		"appagent-test-p123-456":            "",
		"run":                               "",
		"appagent-wiki-data":                "",
	} {
		if got := ownerOfName(name); got != want {
			t.Errorf("ownerOfName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPodName(t *testing.T) {
	m := "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: claim\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    a: b\n  name: the-pod\nspec:\n  containers: []\n"
	if got := podName([]byte(m)); got != "the-pod" {
		t.Errorf("podName = %q", got)
	}
}
