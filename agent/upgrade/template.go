package upgrade

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/appagent/appagent/internal/atomicfile"

	"golang.org/x/sys/unix"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
)

// Prepare is the build-time step (`appagent prepare`, in the image's Containerfile): it checks
// the volume list against the image, moves each listed path into the template tree with a
// symlink to the volume left in its place, and writes the template's manifest and a new build
// id to ImageMetaDir. root is the image's root ("/" in a Containerfile).
//
// List problems (the config's and "does not exist in the image") come back together as a
// *config.ReportError with exitcode.Config. Running it again is fine: paths already moved are
// recognised by their symlink and kept; the manifest and build id are made anew.
func Prepare(root string, cfg *config.Config, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	paths, rep := checkPaths(root, cfg)
	for _, w := range rep.Warnings() {
		fmt.Fprintln(out, w.String())
	}
	if err := rep.Err(); err != nil {
		return exitcode.With(exitcode.Config, err)
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i].Path < paths[j].Path })

	tmpl := join(root, cfg.Volume.Template)
	if err := os.MkdirAll(tmpl, 0o755); err != nil {
		return fmt.Errorf("creating the template tree %s: %w", tmpl, err)
	}
	var rels []string
	moved := 0
	for _, p := range paths {
		rels = append(rels, strings.TrimPrefix(p.Path, "/"))
		did, err := moveToTemplate(root, tmpl, cfg.Volume.Path, p)
		if err != nil {
			return fmt.Errorf("%s:%d: volume path %s: %w", p.File, p.Line, p.Path, err)
		}
		if did {
			moved++
		}
	}
	m, err := BuildManifest(tmpl, rels)
	if err != nil {
		return err
	}
	m.BuildID = NewBuildID(timeNow())
	m.Format = cfg.Volume.Format
	m.Volume = cfg.Volume.Path
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	meta := join(root, ImageMetaDir)
	if err := os.MkdirAll(meta, 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(meta, "manifest.json"), data, 0o644); err != nil {
		return err
	}
	// The build id is written last: an image with a build id has a complete manifest.
	if err := atomicfile.Write(filepath.Join(meta, "build-id"), []byte(m.BuildID+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "template %s: %d paths (%d moved now), %d entries, %s; build id %s\n",
		cfg.Volume.Template, len(paths), moved, len(m.Entries), mb(m.Bytes()), m.BuildID)
	return nil
}

// join puts an absolute image path under root.
func join(root, p string) string {
	return filepath.Join(root, filepath.FromSlash(p))
}

// checkImagePaths adds to rep every listed path that does not exist in the image (unless
// optional) or that reaches its place through a symlink.
func checkImagePaths(root string, cfg *config.Config, paths []config.VolumePath, rep *config.Report) {
	for i := range paths {
		p := paths[i]
		if p.Faulted() {
			continue // its own problem is reported; the image check would only repeat it
		}
		prob := func(format string, a ...any) { paths[i].Problem(rep, config.Error, format, a...) }
		parts := strings.Split(strings.TrimPrefix(p.Path, "/"), "/")
		if parts[0] == StateDir {
			prob("/%s is reserved: on the volume it holds appagent's own state", StateDir)
			continue
		}
		cur := "/"
		ok := true
		for _, c := range parts[:len(parts)-1] {
			cur = path.Join(cur, c)
			fi, err := os.Lstat(join(root, cur))
			if errors.Is(err, os.ErrNotExist) {
				if !p.Optional {
					prob("does not exist in the image (%s is missing); create it before `appagent prepare`, or mark the path optional", cur)
				}
				ok = false
				break
			}
			if err != nil {
				prob("%v", err)
				ok = false
				break
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				t, _ := os.Readlink(join(root, cur))
				prob("%s is a symlink (to %s) in the image; list the path it points to instead", cur, t)
				ok = false
				break
			}
			if !fi.IsDir() {
				prob("%s is not a directory in the image", cur)
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		_, err := os.Lstat(join(root, p.Path))
		if errors.Is(err, os.ErrNotExist) {
			if _, terr := os.Lstat(join(root, path.Join(cfg.Volume.Template, p.Path))); terr == nil {
				continue // moved by an earlier prepare
			}
			if !p.Optional {
				prob("does not exist in the image; create it before `appagent prepare` (for a directory: RUN mkdir -p %s), or mark it optional (paths file: \"%s optional\"; yaml: {path: %s, optional: true})", p.Path, p.Path, p.Path)
			}
		} else if err != nil {
			prob("%v", err)
		}
	}
}

// moveToTemplate moves one listed path into the template and leaves a symlink to the volume.
// It reports whether it moved anything (false: done by an earlier run, or optional and absent).
func moveToTemplate(root, tmpl, volume string, p config.VolumePath) (bool, error) {
	src := join(root, p.Path)
	dst := filepath.Join(tmpl, filepath.FromSlash(p.Path))
	link := path.Join(volume, p.Path)
	if err := mkdirParentsLike(root, tmpl, path.Dir(p.Path)); err != nil {
		return false, err
	}
	fi, err := os.Lstat(src)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Optional and absent (checked before): leave the link, so what the application
		// creates there later lands on the volume.
		if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
			return false, err
		}
		return false, os.Symlink(link, src)
	case err != nil:
		return false, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		if t, _ := os.Readlink(src); t == link {
			return false, nil // an earlier prepare moved it
		}
	}
	if _, err := os.Lstat(dst); err == nil {
		return false, fmt.Errorf("the template already has %s and the image has it too; remove one of them", dst)
	}
	if err := os.Rename(src, dst); err != nil {
		if !errors.Is(err, unix.EXDEV) {
			return false, fmt.Errorf("moving %s to %s: %w", src, dst, err)
		}
		// overlayfs (podman/docker build) refuses to rename a directory from a lower layer:
		// copy it, preserving everything, then remove the original.
		if err := copyTree(src, dst); err != nil {
			return false, fmt.Errorf("copying %s to %s: %w", src, dst, err)
		}
		if err := os.RemoveAll(src); err != nil {
			return false, fmt.Errorf("removing %s after copying it to the template: %w", src, err)
		}
	}
	if err := os.Symlink(link, src); err != nil {
		return false, fmt.Errorf("leaving the symlink %s -> %s: %w", src, link, err)
	}
	return true, nil
}

// mkdirParentsLike creates dir (an absolute image path) under tmpl, each level with the
// owner, mode and times of the image's own directory.
func mkdirParentsLike(root, tmpl, dir string) error {
	if dir == "/" {
		return nil
	}
	if err := mkdirParentsLike(root, tmpl, path.Dir(dir)); err != nil {
		return err
	}
	t := filepath.Join(tmpl, filepath.FromSlash(dir))
	if fi, err := os.Lstat(t); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is in the template but not a directory", t)
		}
		return nil
	}
	src := join(root, dir)
	if _, err := os.Lstat(src); err != nil {
		return os.Mkdir(t, 0o755)
	}
	pfd, err := unix.Open(filepath.Dir(t), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := unix.Mkdirat(pfd, filepath.Base(t), 0o700); err != nil {
		return err
	}
	return setDirMetaAt(src, pfd, filepath.Base(t))
}

// copyTree copies src to dst (which must not exist) with every attribute and hard link.
// Both are trusted image paths.
func copyTree(src, dst string) error {
	type ino struct{ dev, ino uint64 }
	links := map[ino]string{}
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		pfd, err := unix.Open(filepath.Dir(target), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(pfd)
		name := filepath.Base(target)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		typ := typeOf(st.Mode)
		if typ == TypeDir {
			dirs = append(dirs, rel)
			return unix.Mkdirat(pfd, name, 0o700)
		}
		if typ == TypeFile && st.Nlink > 1 {
			k := ino{st.Dev, st.Ino}
			if first, ok := links[k]; ok {
				return os.Link(first, target)
			}
			links[k] = target
		}
		_, err = copyEntryAt(p, typ, pfd, name)
		if err == errSkip {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first: children change a directory's mtime
		t := filepath.Join(dst, dirs[i])
		pfd, err := unix.Open(filepath.Dir(t), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		err = setDirMetaAt(filepath.Join(src, dirs[i]), pfd, filepath.Base(t))
		unix.Close(pfd)
		if err != nil {
			return err
		}
	}
	return nil
}
