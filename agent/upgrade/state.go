package upgrade

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/appagent/appagent/agent/layout"
)

// Volume state files, relative to the volume root (agent/layout declares them).
const (
	fileBuildID  = layout.BuildIDFile
	fileFormat   = layout.FormatFile
	fileManifest = layout.ManifestFile
	fileTxn      = layout.TxnFile
	dirStaging   = layout.StagingDir
	dirBackup    = layout.BackupDir
)

// maxManifest bounds the volume manifest (and a backup's plan.json) read into memory: they are
// untrusted input, and a sparse file of gigabytes must not cost gigabytes. 128 MiB holds the
// manifest of about 500,000 entries, ten times the example wiki's tree and more.
const maxManifest = 128 << 20

// txn is written to the volume before anything else changes and removed after the build id,
// which is written last. A txn on the volume means the last run was interrupted; the next one
// redoes the work (every step is idempotent).
type txn struct {
	Op      string    `json:"op"` // populate or upgrade
	From    string    `json:"from,omitempty"`
	To      string    `json:"to"`
	Paths   []string  `json:"paths,omitempty"`  // populate: the listed paths it creates
	Backup  string    `json:"backup,omitempty"` // upgrade: backup directory, relative
	Started time.Time `json:"started"`
}

// volState is what the volume says about itself.
type volState struct {
	BuildID  string
	Format   int // 0: none recorded
	Manifest *Manifest
	Txn      *txn
}

func readBuildID(v *vfs) (string, error) {
	data, err := v.readSmall(fileBuildID, 256)
	if err != nil || data == nil {
		return "", err
	}
	return parseBuildID(v.abs(fileBuildID), data)
}

func readFormat(v *vfs) (int, error) {
	data, err := v.readSmall(fileFormat, 64)
	if err != nil || data == nil {
		return 0, err
	}
	return parseFormat(v.abs(fileFormat), data)
}

func parseFormat(name string, data []byte) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 1 || n > 1<<20 {
		return 0, fmt.Errorf("%s: %q is not a format version (a number, 1 or more)", name, truncate(strings.TrimSpace(string(data)), 20))
	}
	return n, nil
}

func readTxn(v *vfs) (*txn, error) {
	data, err := v.readSmall(fileTxn, 1<<20)
	if err != nil || data == nil {
		return nil, err
	}
	var t txn
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("%s: %w (an interrupted run left it; remove it to start over)", v.abs(fileTxn), err)
	}
	if t.Op != "populate" && t.Op != "upgrade" {
		return nil, fmt.Errorf("%s: unknown op %q", v.abs(fileTxn), t.Op)
	}
	for _, p := range t.Paths {
		if p == "" || checkRel(p) != nil || under(p, StateDir) {
			return nil, fmt.Errorf("%s: bad path %q", v.abs(fileTxn), p)
		}
	}
	if t.Backup != "" && (checkRel(t.Backup) != nil || !strings.HasPrefix(t.Backup, dirBackup+"/")) {
		return nil, fmt.Errorf("%s: bad backup path %q", v.abs(fileTxn), t.Backup)
	}
	return &t, nil
}

func writeTxn(v *vfs, t *txn) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return v.writeFileAtomic(fileTxn, append(data, '\n'), 0o600)
}

func readManifest(v *vfs) (*Manifest, error) {
	data, err := v.readSmall(fileManifest, maxManifest)
	if err != nil || data == nil {
		return nil, err
	}
	return ParseManifest(v.abs(fileManifest), data)
}

func readVolState(v *vfs) (*volState, error) {
	var s volState
	var err error
	if s.BuildID, err = readBuildID(v); err != nil {
		return nil, err
	}
	if s.Format, err = readFormat(v); err != nil {
		return nil, err
	}
	if s.Txn, err = readTxn(v); err != nil {
		return nil, err
	}
	if s.Manifest, err = readManifest(v); err != nil {
		return nil, err
	}
	return &s, nil
}

func writeManifest(v *vfs, m *Manifest) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	return v.writeFileAtomic(fileManifest, data, 0o600)
}

func writeFormat(v *vfs, format int) error {
	return v.writeFileAtomic(fileFormat, []byte(strconv.Itoa(format)+"\n"), 0o644)
}

// commit records that the volume now holds build m: the build id is written last, then the
// txn is dropped. The manifest and format are written before it by the caller.
func commit(v *vfs, m *Manifest) error {
	if err := v.writeFileAtomic(fileBuildID, []byte(m.BuildID+"\n"), 0o644); err != nil {
		return err
	}
	if err := v.unlink(fileTxn); err != nil && !isNotExist(err) {
		return fmt.Errorf("removing %s: %w", v.abs(fileTxn), err)
	}
	return nil
}
