package upgrade

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

var timeNow = time.Now

// Options configure Sync and PlanVolume.
type Options struct {
	Config *config.Config
	// Root of the image ("/" in the container); the template, migrations and ImageMetaDir
	// are read under it.
	Root string
	// Volume is the volume's path (default: Root + config volume.path).
	Volume string
	// Out receives progress lines and warnings (the container's stdout).
	Out io.Writer
	// ProgressEvery is the interval of progress lines (default 2s).
	ProgressEvery time.Duration
	// AllowDowngrade: this start may downgrade the volume whatever volume.downgrade says
	// (DowngradeEnv).
	AllowDowngrade bool
	// Adopt: this start may adopt a volume with files but no appagent state (AdoptEnv).
	Adopt bool
	// OnAdopt runs once an adoption is allowed, before the volume changes (init records
	// that the configure hook is done and which parameters the application already has).
	OnAdopt func() error
}

func (o *Options) defaults() {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Volume == "" {
		o.Volume = join(o.Root, o.Config.Volume.Path)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}

// image is what the image says about its template.
type image struct {
	buildID    string
	tmpl       string
	migrations string
	format     int
	manifest   *Manifest // loaded on demand
	// manifestRaw is the manifest's file as read: a population records these bytes on the
	// volume rather than encoding the parsed manifest again (writeImageManifest).
	manifestRaw []byte
	metaDir     string
}

func loadImage(o *Options) (*image, error) {
	im := &image{
		tmpl:       join(o.Root, o.Config.Volume.Template),
		migrations: join(o.Root, o.Config.Volume.Migrations),
		format:     o.Config.Volume.Format,
		metaDir:    join(o.Root, ImageMetaDir),
	}
	name := filepath.Join(im.metaDir, "build-id")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, exitcode.Withf(exitcode.Config, "this image has no template build id (%v); run `appagent prepare` in its Containerfile", err)
	}
	if im.buildID, err = parseBuildID(name, data); err != nil {
		return nil, exitcode.With(exitcode.Config, err)
	}
	return im, nil
}

func (im *image) loadManifest() (*Manifest, error) {
	if im.manifest != nil {
		return im.manifest, nil
	}
	name := filepath.Join(im.metaDir, "manifest.json")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, exitcode.Withf(exitcode.Config, "reading the image's template manifest: %v; run `appagent prepare` again", err)
	}
	m, err := ParseManifest(name, data)
	if err != nil {
		return nil, exitcode.With(exitcode.Config, err)
	}
	if m.BuildID != im.buildID {
		return nil, exitcode.Withf(exitcode.Config, "%s is for build %s but the image's build id is %s; run `appagent prepare` again", name, m.BuildID, im.buildID)
	}
	im.manifest, im.manifestRaw = m, data
	return m, nil
}

// writeImageManifest records the image's manifest on the volume as the image holds it:
// ParseManifest accepted these bytes, and encoding 27,000 entries again cost 0.06 s of a
// population's serial time (the volume's copy is parsed as untrusted when it is read back).
func writeImageManifest(v *vfs, im *image) error {
	m, err := im.loadManifest()
	if err != nil {
		return err
	}
	if im.manifestRaw == nil { // not read from a file (a test's image)
		return writeManifest(v, m)
	}
	return v.writeFileAtomic(fileManifest, im.manifestRaw, 0o600)
}

// upToDate is the fast path of every start after the first: two small reads and a stat, no
// walk of the template or the volume, whatever their size.
func upToDate(v *vfs, im *image) bool {
	id, err := readBuildID(v)
	if err != nil || id != im.buildID {
		return false
	}
	f, err := readFormat(v)
	if err != nil || f != im.format {
		return false
	}
	ok, err := v.exists(fileTxn)
	return err == nil && !ok
}

// openImageAndVolume applies the defaults and opens the image side and the volume, the start
// that PlanVolume and Sync share.
func openImageAndVolume(o *Options) (*image, *vfs, error) {
	o.defaults()
	im, err := loadImage(o)
	if err != nil {
		return nil, nil, err
	}
	v, err := openVFS(o.Volume)
	if err != nil {
		return nil, nil, exitcode.With(exitcode.Upgrade, err)
	}
	return im, v, nil
}

// PlanVolume says what Sync would do and changes nothing (`appagent init --plan`).
func PlanVolume(o Options) (*Plan, error) {
	im, v, err := openImageAndVolume(&o)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	p, _, err := makePlan(v, im, o.Volume)
	return p, err
}

// makePlan reads the volume's state and decides; it writes nothing.
func makePlan(v *vfs, im *image, volume string) (*Plan, *volState, error) {
	p := &Plan{Volume: volume, ToBuild: im.buildID, ToFormat: im.format}
	if upToDate(v, im) {
		p.Kind, p.FromBuild, p.FromFormat = KindUpToDate, im.buildID, im.format
		return p, nil, nil
	}
	st, err := readVolState(v)
	if err != nil {
		return nil, nil, exitcode.Withf(exitcode.Upgrade, "reading the volume's state: %w (a damaged state file can be moved aside; without manifest.json the volume is adopted as not made by appagent, see docs/volume.md)", err)
	}
	p.FromBuild, p.FromFormat = st.BuildID, st.Format
	if st.Manifest != nil && p.FromBuild == "" {
		p.FromBuild = st.Manifest.BuildID // an upgrade was interrupted after the manifest
	}
	p.Downgrade = isDowngrade(p.FromBuild, im.buildID)
	if st.Format > im.format {
		return nil, nil, exitcode.Withf(exitcode.VolumeNewer,
			"the volume %s has format %d (written by build %s), but this image (build %s) knows format %d at most; run the newer image, or restore the volume from a backup",
			volume, st.Format, st.BuildID, im.buildID, im.format)
	}
	p.Resume = st.Txn != nil
	if t := st.Txn; t != nil && t.Op == KindUpgrade && t.To != im.buildID && (st.Manifest == nil || st.Manifest.BuildID != t.To) {
		// Killed or failed in the middle of its file changes: the volume holds some of that
		// build's files under the older manifest, which this image cannot tell from the
		// user's. (Once its manifest is written, planning from it is exact: allowed.)
		from, backup := t.From, "none"
		if from == "" {
			from = "(none)"
		}
		if t.Backup != "" {
			backup = v.abs(t.Backup)
		}
		return nil, nil, exitcode.Withf(exitcode.Upgrade,
			"the volume %s is in the middle of an upgrade to build %s (from build %s, started %s, backup %s), which this image (build %s) cannot finish; start the image of build %s again to finish it (this image can then upgrade or downgrade from there), or roll the volume back by hand (docs/volume.md, \"Rolling back by hand\")",
			volume, t.To, from, t.Started.Format(time.RFC3339), backup, im.buildID, t.To)
	}
	m, err := im.loadManifest()
	if err != nil {
		return nil, nil, err
	}
	empty, err := isEmptyVolume(v)
	if err != nil {
		return nil, nil, exitcode.With(exitcode.Upgrade, err)
	}
	if st.Manifest == nil && (empty || (st.Txn != nil && st.Txn.Op == KindPopulate)) {
		p.Kind = KindPopulate
		for _, e := range m.Entries {
			p.Files++
			if e.Type == TypeFile && e.Link == "" {
				p.Bytes += e.Size
			}
		}
		return p, st, nil
	}
	p.Kind = KindUpgrade
	p.Adopt = st.Manifest == nil
	if p.FromFormat == 0 {
		if st.Manifest != nil {
			// appagent writes the format before the manifest, so someone removed it; guessing
			// could run migrations twice.
			return nil, nil, exitcode.Withf(exitcode.Upgrade,
				"the volume %s has %s but no %s; write the volume's format version (a number) to it, then start again",
				volume, fileManifest, fileFormat)
		}
		p.FromFormat = im.format // not made by appagent: no format to migrate from
	}
	if p.Steps, err = planFiles(v, st.Manifest, m); err != nil {
		return nil, nil, exitcode.Withf(exitcode.Upgrade, "planning the upgrade of %s: %w", volume, err)
	}
	if p.FromFormat < im.format {
		if p.Migrations, err = migrationChain(im.migrations, p.FromFormat, im.format); err != nil {
			return nil, nil, err
		}
	}
	if st.Txn != nil && st.Txn.Op == KindUpgrade && st.Txn.Backup != "" {
		p.Backup = v.join(st.Txn.Backup)
	} else if len(p.Steps) > 0 || len(p.Migrations) > 0 {
		p.Backup = v.join(backupName(p.FromBuild, im.buildID))
	}
	return p, st, nil
}

// isEmptyVolume: nothing on the volume but appagent's state (and an ext4 lost+found).
func isEmptyVolume(v *vfs) (bool, error) {
	fd, err := v.open("", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return false, err
	}
	f := os.NewFile(uintptr(fd), v.path)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n != StateDir && n != "lost+found" {
			return false, nil
		}
	}
	return true, nil
}

// Sync brings the volume to this image's build: nothing when it is up to date, populate
// when empty, upgrade (with backup and migrations) when written by another build. The caller
// holds the volume lock (Lock). Errors carry exitcode.Upgrade, VolumeNewer or Config.
func Sync(o Options) (*Plan, error) {
	im, v, err := openImageAndVolume(&o)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	if err := ensureStateDir(v); err != nil {
		return nil, exitcode.With(exitcode.Upgrade, err)
	}
	p, st, err := makePlan(v, im, o.Volume)
	if err != nil {
		return nil, err
	}
	switch p.Kind {
	case KindUpToDate:
		if err := checkRecorded(v, im); err != nil {
			var damaged *errRecordDamaged
			if !errors.As(err, &damaged) {
				return nil, err
			}
			if err := repairRecorded(v, im, err, &o); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(o.Out, "appagent: volume %s is up to date (build %s, format %d)\n", o.Volume, im.buildID, im.format)
		return p, nil
	case KindPopulate:
		return p, doPopulate(v, im, st, p, &o)
	default:
		if err := checkDowngrade(p, &o); err != nil {
			return nil, err
		}
		if err := checkAdopt(v, p, &o); err != nil {
			return nil, err
		}
		return p, doUpgrade(v, im, st, p, &o)
	}
}

func doPopulate(v *vfs, im *image, st *volState, p *Plan, o *Options) error {
	m := im.manifest
	if t := st.Txn; t != nil && t.To != im.buildID {
		// An interrupted population by another image: what it placed was never used.
		for _, rel := range t.Paths {
			if err := v.removeAll(rel); err != nil {
				return exitcode.Withf(exitcode.Upgrade, "removing %s left by an interrupted population: %w", v.abs(rel), err)
			}
		}
	}
	if err := writeTxn(v, &txn{Op: KindPopulate, To: im.buildID, Paths: m.Paths, Started: timeNow().UTC()}); err != nil {
		return exitcode.With(exitcode.Upgrade, err)
	}
	fmt.Fprintf(o.Out, "appagent: populating the volume %s from %s (build %s): %d entries, %s\n",
		o.Volume, o.Config.Volume.Template, im.buildID, p.Files, mb(p.Bytes))
	pr := startProgress(o.Out, "populating "+o.Volume, int64(p.Files), p.Bytes, o.ProgressEvery)
	err := populate(v, im.tmpl, m, pr)
	pr.finish()
	// The format before the manifest: a volume with a manifest always has its format.
	if err == nil {
		if err = writeFormat(v, im.format); err == nil {
			if err = writeImageManifest(v, im); err == nil {
				err = commit(v, m)
			}
		}
	}
	if err != nil {
		return exitcode.Withf(exitcode.Upgrade, "populating the volume %s failed: %w; nothing of the volume's own was changed; start the container again to retry", o.Volume, err)
	}
	return nil
}

// savedIn says where an upgrade saved what it changes, for its failure message.
func savedIn(backup string) string {
	if backup == "" {
		return "The upgrade had nothing to back up (it changes no file of the volume)."
	}
	return "What the upgrade changed or removed was saved first in " + backup + " (files/, and the old manifest.json, build-id, format)."
}

func doUpgrade(v *vfs, im *image, st *volState, p *Plan, o *Options) error {
	m := im.manifest
	backup := strings.TrimPrefix(strings.TrimPrefix(p.Backup, v.path), "/")
	from := p.FromBuild
	if from == "" {
		from = "(none)"
	}
	where := "nothing to back up"
	if p.Backup != "" {
		where = "backup in " + p.Backup
	}
	fmt.Fprintf(o.Out, "appagent: upgrading the volume %s from build %s (format %d) to build %s (format %d): %s; %s\n",
		o.Volume, from, p.FromFormat, im.buildID, im.format, counts(p.Steps), where)
	fail := func(err error) error {
		var ec *exitcode.Error
		if errors.As(err, &ec) && ec.Code != exitcode.Upgrade {
			return err
		}
		return exitcode.Withf(exitcode.Upgrade,
			"upgrading the volume %s failed: %v\n%s Start the container again to retry; to roll back by hand, see docs/volume.md (\"Rolling back\").",
			o.Volume, err, savedIn(p.Backup))
	}
	if err := writeTxn(v, &txn{Op: KindUpgrade, From: p.FromBuild, To: im.buildID, Backup: backup, Started: timeNow().UTC()}); err != nil {
		return fail(err)
	}
	if backup != "" {
		if err := makeBackup(v, backup, p.Steps); err != nil {
			return fail(err)
		}
	}
	pr := startProgress(o.Out, "upgrading "+o.Volume, int64(len(p.Steps)), 0, o.ProgressEvery)
	a := &applier{v: v, tmpl: im.tmpl, new: m, backup: backup, pr: pr,
		warn: func(format string, args ...any) { fmt.Fprintf(o.Out, "appagent: warning: "+format+"\n", args...) }}
	err := a.apply(p.Steps)
	pr.finish()
	if err != nil {
		return fail(err)
	}
	// The files are in place by rename, not yet on disk: flush the filesystem once before the
	// state that says they are there (format, manifest, build id), so a power loss never
	// leaves empty files behind a recorded build id. (kill -9 is safe without it.)
	if err := v.syncfs(); err != nil {
		return fail(err)
	}
	// Without migrations the format is final now, and is written before the manifest (a
	// volume with a manifest always has its format). With migrations the old format stays
	// until each step has run.
	if len(p.Migrations) == 0 {
		if err := writeFormat(v, im.format); err != nil {
			return fail(err)
		}
	}
	if err := writeManifest(v, m); err != nil {
		return fail(err)
	}
	if len(p.Migrations) > 0 {
		if err := runMigrations(v, p.Migrations, p.FromFormat, backup, o.Out); err != nil {
			return fail(err)
		}
	}
	if err := commit(v, m); err != nil {
		return fail(err)
	}
	fmt.Fprintf(o.Out, "appagent: volume %s is now at build %s (format %d)\n", o.Volume, im.buildID, im.format)
	// Only now, with the build id written, may older backups go.
	keep := o.Config.Volume.Backups()
	removed, err := pruneBackups(v, keep, backup)
	for _, r := range removed {
		fmt.Fprintf(o.Out, "appagent: removed the old backup %s (volume.keep_backups is %d)\n", r, keep)
	}
	if err != nil {
		fmt.Fprintf(o.Out, "appagent: warning: %v; the upgrade itself is complete; remove old backups by hand, or set volume.keep_backups to 0\n", err)
	}
	return nil
}
