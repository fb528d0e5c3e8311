package upgrade

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/appagent/appagent/agent/layout"
)

// ImageMetaDir holds the image's metadata about its template (build-id, manifest.json).
const ImageMetaDir = layout.ImageDir

// NewBuildID returns a unique id for one `appagent prepare` run: its UTC time (so ids sort
// and say when) and 64 random bits (so two builds in the same second differ).
func NewBuildID(now time.Time) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// parseBuildID checks a build id read from a file (the volume's is untrusted).
func parseBuildID(name string, data []byte) (string, error) {
	id := strings.TrimSpace(string(data))
	if !layout.ValidBuildID(id) {
		return "", fmt.Errorf("%s: %q is not a build id", name, truncate(id, 40))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// shortID is the build id's random part, for directory names and messages.
func shortID(id string) string {
	if i := strings.LastIndexByte(id, '-'); i >= 0 && i < len(id)-1 {
		return id[i+1:]
	}
	return id
}
