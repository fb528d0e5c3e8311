package upgrade

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/appagent/appagent/agent/exitcode"
	"golang.org/x/sys/unix"
)

// The fast path of a start trusts the volume's build id and never reads its manifest, so a
// damaged manifest.json would go unseen until the next upgrade fails on it, with the image
// that wrote it long gone. A volume at this image's build must hold this image's manifest
// (commit writes the manifest before the build id), so a start can check it by comparing
// bytes, and repair it exactly from the image's copy.

// errRecordDamaged says why the volume's manifest is not the record of its build.
type errRecordDamaged struct {
	path   string
	reason string
}

func (e *errRecordDamaged) Error() string {
	return fmt.Sprintf("the volume's record of the image's files %s %s", e.path, e.reason)
}

// checkRecorded tells whether the volume's manifest is the record of build im (the volume
// is up to date with it). nil: it is; *errRecordDamaged: it is not, and why; other errors:
// it could not be read.
func checkRecorded(v *vfs, im *image) error {
	name := v.abs(fileManifest)
	same, err := sameAsImage(v, filepath.Join(im.metaDir, "manifest.json"))
	if err != nil {
		var damaged *errRecordDamaged
		if errors.As(err, &damaged) {
			return err
		}
		return exitcode.Withf(exitcode.Config, "reading the image's template manifest: %v; run `appagent prepare` again", err)
	}
	if same {
		return nil
	}
	// Not the same bytes: still the same record if it parses to this build (an older
	// appagent may have laid it out differently).
	got, err := v.readSmall(fileManifest, maxManifest)
	if err != nil {
		return &errRecordDamaged{path: name, reason: "cannot be used: " + err.Error()}
	}
	m, err := ParseManifest(name, got)
	if err != nil {
		return &errRecordDamaged{path: name, reason: "is damaged: " + err.Error()}
	}
	if m.BuildID != im.buildID {
		return &errRecordDamaged{path: name, reason: fmt.Sprintf("is for build %s, but the volume's build id says %s", m.BuildID, im.buildID)}
	}
	return nil
}

// sameAsImage compares the volume's manifest with the image's copy in fixed chunks: every
// start pays for it, and a manifest of a large tree is tens of MB. Errors about the volume's
// file are *errRecordDamaged; others are the image's.
func sameAsImage(v *vfs, imageCopy string) (bool, error) {
	vf, vsize, err := v.openSmall(fileManifest, maxManifest)
	if err != nil {
		return false, &errRecordDamaged{path: v.abs(fileManifest), reason: "cannot be used: " + err.Error()}
	}
	if vf == nil {
		return false, &errRecordDamaged{path: v.abs(fileManifest), reason: "is missing"}
	}
	defer vf.Close()
	imf, err := os.Open(imageCopy)
	if err != nil {
		return false, err
	}
	defer imf.Close()
	ist, err := imf.Stat()
	if err != nil {
		return false, err
	}
	if ist.Size() != vsize {
		return false, nil
	}
	if same, ok := sameMapped(imf, vf, vsize); ok {
		return same, nil
	}
	// A filesystem that maps no file: read both in chunks.
	const chunk = 256 << 10
	a, b := make([]byte, chunk), make([]byte, chunk)
	for {
		n, errA := io.ReadFull(imf, a)
		m, errB := io.ReadFull(vf, b)
		if n != m || !bytes.Equal(a[:n], b[:m]) {
			return false, nil
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, &errRecordDamaged{path: v.abs(fileManifest), reason: "cannot be read: " + errB.Error()}
		}
	}
}

// sameMapped compares two files of size bytes through read-only mappings, with no copy into
// this process: the chunked reads copied both manifests at every start, 100 MB for a
// 270,000-file tree, and made the start grow faster than the tree (make bench-large: 1.29x
// the growth of re-running cp). A fault while reading a mapping (the volume's file cut short
// meanwhile) is a difference, never a crash. ok is false when a file cannot be mapped.
func sameMapped(a, b *os.File, size int64) (same, ok bool) {
	if size == 0 {
		return true, true
	}
	ma, err := unix.Mmap(int(a.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return false, false
	}
	defer unix.Munmap(ma)
	mb, err := unix.Mmap(int(b.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return false, false
	}
	defer unix.Munmap(mb)
	_ = unix.Madvise(ma, unix.MADV_SEQUENTIAL)
	_ = unix.Madvise(mb, unix.MADV_SEQUENTIAL)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			same, ok = false, true
		}
	}()
	return bytes.Equal(ma, mb), true
}

// repairRecorded rewrites a damaged manifest of an up-to-date volume from the image's copy.
func repairRecorded(v *vfs, im *image, damage error, o *Options) error {
	m, err := im.loadManifest()
	if err != nil {
		return err
	}
	// Kept for whoever wants to know what damaged it (one copy: the last damage).
	kept := fileManifest + ".damaged"
	if err := v.rename(fileManifest, kept); err != nil {
		kept = ""
	}
	if err := writeManifest(v, m); err != nil {
		return exitcode.Withf(exitcode.Upgrade, "%v, and rewriting it failed: %w; free space on the volume or fix its permissions, then start again", damage, err)
	}
	was := ""
	if kept != "" {
		was = "; the damaged file is kept as " + v.abs(kept)
	}
	fmt.Fprintf(o.Out, "appagent: warning: %v; rewritten from this image's copy (the volume is at this image's build %s, so the record is the same)%s\n", damage, im.buildID, was)
	return nil
}

// VerifyRecord checks, changing nothing, that the volume's state files can carry the next
// upgrade: for a volume at this image's build, that its manifest is this build's; for any
// other, that its state parses. `appagent doctor` reports the error (a start repairs the
// first case). It returns a one-line description of the state when it is sound.
func VerifyRecord(o Options) (string, error) {
	im, v, err := openImageAndVolume(&o)
	if err != nil {
		return "", err
	}
	defer v.Close()
	if upToDate(v, im) {
		if err := checkRecorded(v, im); err != nil {
			return "", fmt.Errorf("%w; the next start of the container rewrites it from the image", err)
		}
		return fmt.Sprintf("the volume is at this image's build %s (format %d) and its manifest is that build's", im.buildID, im.format), nil
	}
	st, err := readVolState(v)
	if err != nil {
		return "", fmt.Errorf("the volume's state cannot carry the next upgrade: %w; move the damaged file aside (docs/volume.md, \"Damaged state\")", err)
	}
	if st.Txn != nil {
		return fmt.Sprintf("an interrupted %s to build %s is on the volume; the next start resumes it", st.Txn.Op, st.Txn.To), nil
	}
	if st.BuildID == "" {
		return "the volume holds no build yet; the next start populates or adopts it", nil
	}
	return fmt.Sprintf("the volume is at build %s (format %d); the next start moves it to this image's build %s", st.BuildID, st.Format, im.buildID), nil
}
