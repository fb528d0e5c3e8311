package preflighttest

import (
	"io/fs"
	"strings"
	"time"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/preflight"
)

// Mount tables seen in real runtimes (trimmed to the lines the checks read). APILines are
// the API file systems every runtime mounts; /run/lock is podman's and nspawn's only.
const (
	APILines = `20 1 0:20 / /proc rw,nosuid,nodev,noexec - proc proc rw
21 1 0:21 / /sys ro,nosuid,nodev,noexec - sysfs sysfs ro
22 1 0:22 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
23 22 0:23 / /dev/shm rw,nosuid,nodev,noexec - tmpfs shm rw,size=65536k
`
	RunLock = "24 1 0:24 / /run/lock rw,nosuid,nodev,noexec - tmpfs tmpfs rw,size=5120k\n"

	// systemd-nspawn on this project's hybrid-cgroup hosts.
	MountsNspawn = `512 480 254:0 /var/lib/c /  rw,relatime - ext4 /dev/vda rw
513 512 0:50 / /run rw,nosuid,nodev - tmpfs tmpfs rw,mode=755
514 512 0:51 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
515 514 0:37 /c /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,name=systemd
516 514 0:38 /c /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
517 512 254:0 /tmp/vol /data rw,relatime - ext4 /dev/vda rw
` + APILines + RunLock
	// podman --systemd=always on cgroup v2.
	MountsPodmanV2 = `600 590 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
601 600 0:61 / /run rw,nosuid,nodev - tmpfs tmpfs rw,size=65536k
602 600 0:62 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
603 600 0:63 / /data rw,relatime - ext4 /dev/vdb rw
` + APILines + RunLock
	// docker-like: no tmpfs on /run, cgroup2 read-only, no volume.
	MountsDockerLike = `700 690 0:70 / / rw,relatime - overlay overlay rw
701 700 0:72 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup ro
` + APILines
)

const (
	CapsRoot    = "CapEff:\t000001ffffffffff\n" // includes CAP_SYS_ADMIN
	CapsDefault = "CapEff:\t00000000a80425fb\n" // docker's default set: no CAP_SYS_ADMIN
)

// Docker's mount tables on this project's hybrid host (Docker hides /sys/fs/cgroup/unified),
// with the flags given: the tables the Docker integration tests boot with.
const (
	DockerV1Cgroup = `30 1 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755
31 30 0:31 /docker/abc /sys/fs/cgroup/systemd ro,nosuid,nodev,noexec - cgroup cgroup rw,name=systemd
`
	DockerV1CgroupRW = `30 1 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755
31 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec - cgroup cgroup rw,name=systemd
`
	RunTmpfs = "40 1 0:40 / /run rw,nosuid,nodev,noexec - tmpfs tmpfs rw,size=65536k\n"
	// podman --userns=auto --systemd=always on the hybrid host: systemd's hierarchy mounted
	// read-write, but owned by the host's root.
	PodmanUserNS = `50 1 0:50 / /run rw - tmpfs tmpfs rw
51 1 0:51 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755,uid=1000000,gid=1000000
52 51 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
53 1 0:53 / /data rw - ext4 /dev/vda rw
` + APILines + RunLock
)

// fakeFile is what Fake.System's Stat returns: a directory or a file, nothing more.
type fakeFile struct{ dir bool }

func (f fakeFile) Name() string { return "x" }
func (f fakeFile) Size() int64  { return 0 }
func (f fakeFile) Mode() fs.FileMode {
	return map[bool]fs.FileMode{true: fs.ModeDir | 0o755, false: 0o644}[f.dir]
}
func (f fakeFile) ModTime() time.Time { return time.Time{} }
func (f fakeFile) IsDir() bool        { return f.dir }
func (f fakeFile) Sys() any           { return nil }

// Fake is a container as the checks see it: files by path, environment, directories.
type Fake struct {
	Files    map[string]string
	Env      map[string]string
	Dirs     map[string]bool // existing directories
	ReadOnly map[string]error
	Probe    error
	Avail    uint64
	Total    uint64
	FreeErr  error
	Host     string
}

// System returns the checks' view of f.
func (f *Fake) System() *preflight.System {
	return &preflight.System{
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := f.Files[p]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		Getenv: func(n string) string { return f.Env[n] },
		Stat: func(p string) (fs.FileInfo, error) {
			if f.Dirs[p] {
				return fakeFile{dir: true}, nil
			}
			if _, ok := f.Files[p]; ok {
				return fakeFile{}, nil
			}
			return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
		},
		Access:   func(p string) error { return f.ReadOnly[p] },
		Probe:    func(string) error { return f.Probe },
		Free:     func(string) (uint64, uint64, error) { return f.Avail, f.Total, f.FreeErr },
		Hostname: func() (string, error) { return f.Host, nil },
		Glob:     func(string) ([]string, error) { return nil, nil },
	}
}

// Config is a declaration with the volume at /data.
func Config(requireMount bool) *config.Config {
	return &config.Config{File: "/etc/appagent/appagent.yaml", Volume: config.Volume{Path: "/data", RequireMount: requireMount}}
}

// Severities maps each check to its result's severity.
func Severities(rs preflight.Results) map[string]preflight.Severity {
	m := map[string]preflight.Severity{}
	for _, r := range rs {
		m[r.Check] = r.Severity
	}
	return m
}

// Dump prints rs as doctor does, for a test's failure message.
func Dump(rs preflight.Results) string {
	var b strings.Builder
	rs.Write(&b)
	return b.String()
}
