package upgrade

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/appagent/appagent/internal/benchtree"
)

// freshFS is a filesystem made for one side of one run and removed after it, so that no side
// pays for what ran before it: on ext4, a copy right after an `rm -rf` of the same size is
// slowed by the allocator's and the journal's work on the freed inodes (the issue measured
// 0.48-0.53 in alternating order on one filesystem, against 0.62 in the old bench).
type freshFS struct {
	kind string // "ext4" (a loop-mounted image) or "tmpfs"
	dir  string // the mount point
	img  string // ext4: the image file
}

// freshFSSize holds the wiki-shaped tree (530 MB at scale 1) with room for ext4's metadata.
func freshFSSize() string { return fmt.Sprintf("%dM", 1500*benchtree.Scale()) }

func mountFresh(b *testing.B, kind, name string) *freshFS {
	b.Helper()
	f := &freshFS{kind: kind, dir: filepath.Join(benchCache, "freshfs-"+name)}
	// A run that was killed left its filesystem mounted here: unmount it (and any under it)
	// rather than mount on top of it.
	for i := 0; i < 8 && exec.Command("umount", "-l", f.dir).Run() == nil; i++ {
	}
	os.RemoveAll(f.dir)
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	switch kind {
	case "ext4":
		f.img = f.dir + ".img"
		os.Remove(f.img)
		run("truncate", "-s", freshFSSize(), f.img)
		// lazy_itable_init=0: the inode tables are written now, not by a kernel thread
		// during the measured copy.
		run("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", f.img)
		run("mount", "-o", "loop", f.img, f.dir)
	case "tmpfs":
		run("mount", "-t", "tmpfs", "-o", "size="+freshFSSize(), "tmpfs", f.dir)
	}
	exec.Command("sync").Run()
	return f
}

func (f *freshFS) unmount(b *testing.B) {
	b.Helper()
	if out, err := exec.Command("umount", f.dir).CombinedOutput(); err != nil {
		b.Fatalf("umount %s: %v\n%s", f.dir, err, out)
	}
	os.Remove(f.dir)
	if f.img != "" {
		os.Remove(f.img)
	}
}

// limitCopy is the physical limit a population is measured against: the template's
// directories, links and files made with their names only, the files empty, then all their
// bytes written in one stream to one file. No copy can do less work than making the same
// inodes and writing the same bytes.
func limitCopy(tmpl, vol string) (time.Duration, error) {
	type ent struct {
		rel  string
		mode fs.FileMode
		link string
		size int64
	}
	var ents []ent
	var total int64
	err := filepath.WalkDir(tmpl, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == tmpl {
			return err
		}
		rel, _ := filepath.Rel(tmpl, p)
		e := ent{rel: rel, mode: d.Type()}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			e.link, err = os.Readlink(p)
		case d.Type().IsRegular():
			var info fs.FileInfo
			info, err = d.Info()
			if err == nil {
				e.size = info.Size()
				total += e.size
			}
		}
		ents = append(ents, e)
		return err
	})
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for _, e := range ents {
		p := filepath.Join(vol, e.rel)
		switch {
		case e.mode.IsDir():
			err = os.Mkdir(p, 0o755)
		case e.mode&fs.ModeSymlink != 0:
			err = os.Symlink(e.link, p)
		default:
			var fd int
			fd, err = syscall.Open(p, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
			if err == nil {
				syscall.Close(fd)
			}
		}
		if err != nil {
			return 0, err
		}
	}
	out, err := os.Create(filepath.Join(vol, "stream"))
	if err != nil {
		return 0, err
	}
	for left := total; left > 0; {
		n := int64(len(buf))
		if left < n {
			n = left
		}
		if _, err := out.Write(buf[:n]); err != nil {
			out.Close()
			return 0, err
		}
		left -= n
	}
	if err := out.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// cpuTimes are this process's and its waited-for children's user and system time.
func cpuTimes() (self, children time.Duration) {
	var s, c syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &s)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(s.Utime) + tv(s.Stime), tv(c.Utime) + tv(c.Stime)
}

// BenchmarkPopulateFresh: first population against cp -npr (alone, and followed by sync -f:
// appagent flushes the volume before it records the population) and against the physical limit,
// each side of each run on a filesystem of its own made just before it (ext4 on a loop
// device, and tmpfs), the order of the sides rotating from run to run. It reports the
// medians and where the time goes: CPU time per side (user+system; the rest of the wall time
// is waiting for the disk or for locks).
func BenchmarkPopulateFresh(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: it mounts a filesystem per side")
	}
	t := bigTree(b)
	cpBaseline(b, t, benchVol(b, "bench-vol-warm")) // the template in the page cache for all
	for _, kind := range []string{"ext4", "tmpfs"} {
		b.Run(kind, func(b *testing.B) {
			// cpsync: cp -npr and then the filesystem flushed (sync -f), as appagent flushes it
			// (syncfs) before it records the population: the durable way to copy. limitsync:
			// the physical limit made durable the same way, the floor of a durable population.
			sides := []string{"cp", "ours", "limit", "cpsync", "limitsync"}
			wall := map[string][]time.Duration{}
			var copied []time.Duration // appagent's copy, before its flush to disk
			cpu := map[string]time.Duration{}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range sides {
					side := sides[(i+j)%len(sides)]
					b.StopTimer()
					f := mountFresh(b, kind, side)
					vol := filepath.Join(f.dir, "vol")
					if err := os.Mkdir(vol, 0o755); err != nil {
						b.Fatal(err)
					}
					s0, c0 := cpuTimes()
					b.StartTimer()
					var d time.Duration
					switch side {
					case "cp":
						d = cpBaseline(b, t, vol)
					case "cpsync":
						d = cpBaseline(b, t, vol)
						start := time.Now()
						if out, err := exec.Command("sync", "-f", vol).CombinedOutput(); err != nil {
							b.Fatalf("sync -f: %v\n%s", err, out)
						}
						d += time.Since(start)
					case "ours":
						var c time.Duration
						d, c = benchSyncPhases(b, t, vol)
						copied = append(copied, c)
					case "limit", "limitsync":
						var err error
						if d, err = limitCopy(t.tmpl, vol); err != nil {
							b.Fatalf("limit: %v", err)
						}
						if side == "limitsync" {
							start := time.Now()
							if out, err := exec.Command("sync", "-f", vol).CombinedOutput(); err != nil {
								b.Fatalf("sync -f: %v\n%s", err, out)
							}
							d += time.Since(start)
						}
					}
					b.StopTimer()
					s1, c1 := cpuTimes()
					if side == "cp" || side == "cpsync" {
						cpu[side] += c1 - c0
					} else {
						cpu[side] += s1 - s0
					}
					wall[side] = append(wall[side], d)
					f.unmount(b)
					b.StartTimer()
				}
			}
			med := map[string]float64{}
			for _, s := range sides {
				med[s] = float64(median(wall[s]).Microseconds()) / 1000
				b.ReportMetric(med[s], "ms/"+s)
				b.ReportMetric(float64(cpu[s].Milliseconds())/float64(b.N), "cpu_ms/"+s)
			}
			medCopy := float64(median(copied).Microseconds()) / 1000
			b.ReportMetric(medCopy, "ms/ours-copy")
			b.ReportMetric(med["ours"]/med["cp"], "populate/cp")
			b.ReportMetric(medCopy/med["cp"], "copy/cp")
			b.ReportMetric(med["ours"]/med["limit"], "populate/limit")
			b.ReportMetric(med["ours"]/med["cpsync"], "populate/cpsync")
			b.ReportMetric(med["ours"]/med["limitsync"], "populate/limitsync")
			b.Logf("%s, medians of %d runs: appagent %.0f ms (copy %.0f ms, CPU %d ms), cp -npr %.0f ms (CPU %d ms), cp -npr + sync -f %.0f ms, limit %.0f ms (CPU %d ms), limit + sync -f %.0f ms", kind, b.N,
				med["ours"], medCopy, cpu["ours"].Milliseconds()/int64(b.N), med["cp"], cpu["cp"].Milliseconds()/int64(b.N), med["cpsync"], med["limit"], cpu["limit"].Milliseconds()/int64(b.N), med["limitsync"])
		})
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
