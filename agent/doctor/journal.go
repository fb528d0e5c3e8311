package doctor

import (
	"bufio"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/preflight"
)

// journaldConf returns the effective journald settings: journald.conf, then drop-ins in
// /usr/lib, /run and /etc journald.conf.d, ordered by file name (systemd.unit(5) rules,
// simplified: a later file overrides).
func journaldConf(sys *preflight.System) map[string]string {
	conf := map[string]string{}
	files := []string{"/etc/systemd/journald.conf"}
	byName := map[string]string{}
	for _, d := range []string{"/usr/lib/systemd/journald.conf.d", "/run/systemd/journald.conf.d", "/etc/systemd/journald.conf.d"} {
		m, _ := sys.Glob(d + "/*.conf")
		for _, f := range m {
			byName[filepath.Base(f)] = f
		}
	}
	var names []string
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, byName[n])
	}
	for _, f := range files {
		data, err := sys.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
				continue
			}
			if k, v, ok := strings.Cut(line, "="); ok {
				conf[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return conf
}

func checkJournal(cfg *config.Config, sys *preflight.System) preflight.Result {
	r := preflight.Result{Check: "journal"}
	conf := journaldConf(sys)
	storage := conf["Storage"]
	if storage == "" {
		storage = "auto"
	}
	persistent := storage == "persistent" || (storage == "auto" && sys.Exists("/var/log/journal"))
	if !persistent {
		r.Severity = preflight.Pass
		r.Message = fmt.Sprintf("journal is volatile (Storage=%s): kept in /run, bounded by RuntimeMaxUse (%s); appagent forwards it to the container's output", storage, orDefault(conf["RuntimeMaxUse"], "10% of /run"))
		return r
	}
	onVolume := false
	if real, err := filepath.EvalSymlinks("/var/log/journal"); err == nil {
		onVolume = real == cfg.Volume.Path || strings.HasPrefix(real, cfg.Volume.Path+"/")
	}
	limit := "SystemMaxUse=" + orDefault(conf["SystemMaxUse"], "10% of the filesystem, at most 4G")
	if onVolume {
		r.Severity = preflight.Pass
		r.Message = fmt.Sprintf("journal is persistent on the volume, bounded by %s", limit)
		if conf["SystemMaxUse"] == "" {
			r.Severity = preflight.Warn
			r.Fix = "set SystemMaxUse= in /etc/systemd/journald.conf.d/ so the journal cannot fill the volume"
		}
		return r
	}
	r.Severity = preflight.Warn
	r.Message = fmt.Sprintf("journal is persistent (Storage=%s) in /var/log/journal, outside the volume: it grows in the container's layer (%s) and is lost on re-creation", storage, limit)
	r.Fix = "set Storage=volatile in a journald.conf.d drop-in (appagent forwards the journal to the container's output), or add /var/log/journal to volume.paths in " + cfg.File
	return r
}

// orDefault shows a journald setting: its value, or "unset: DEFAULT".
func orDefault(v, def string) string {
	if v == "" {
		return "unset: " + def
	}
	return v
}
