package upgrade

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Volume is the audited way into a volume for the other packages (the parameters' store,
// the hooks' stamps): paths are relative to the volume's root and resolved beneath it without
// following any symlink (vfs); files are written under a temporary name and renamed, so a
// planted symlink or hard link is replaced, never written through.
type Volume struct{ v *vfs }

// OpenVolume opens the volume at dir.
func OpenVolume(dir string) (*Volume, error) {
	v, err := openVFS(dir)
	if err != nil {
		return nil, err
	}
	return &Volume{v: v}, nil
}

// Close releases the volume's directory fd.
func (vol *Volume) Close() error { return vol.v.Close() }

// Path is rel's path for messages (quoted when its name could break a line).
func (vol *Volume) Path(rel string) string { return vol.v.abs(rel) }

// ReadFile reads a regular file of at most max bytes; a missing file gives (nil, nil). A
// symlink, fifo or device at rel, or in a parent, is an error that names it.
func (vol *Volume) ReadFile(rel string, max int64) ([]byte, error) {
	return vol.v.readSmall(rel, max)
}

// Exists tells whether rel exists (of any type, a symlink not followed).
func (vol *Volume) Exists(rel string) (bool, error) { return vol.v.exists(rel) }

// WriteFile replaces rel with data atomically (temp file, fsync, rename, fsync of the
// directory).
func (vol *Volume) WriteFile(rel string, data []byte, perm uint32) error {
	return vol.v.writeFileAtomic(rel, data, perm)
}

// MkdirAll creates rel and its missing parents (0700); a symlink in the way is an error.
func (vol *Volume) MkdirAll(rel string) error { return vol.v.mkdirAll(rel, nil) }

// Remove removes the file rel; a missing one is fine.
func (vol *Volume) Remove(rel string) error {
	if err := vol.v.unlink(rel); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// SyncDir flushes the directory rel (after creating or removing entries in it).
func (vol *Volume) SyncDir(rel string) error {
	fd, err := vol.v.open(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return vol.v.pathErr("open", rel, err)
	}
	defer unix.Close(fd)
	return vol.v.pathErr("fsync", rel, unix.Fsync(fd))
}
