package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where an image keeps its declaration.
const DefaultPath = "/etc/appagent/appagent.yaml"

// Config is the image's declaration. Field comments are the documentation of the file format
// (docs/config.md repeats them with examples).
type Config struct {
	// File is the path the config was read from (not a YAML key).
	File string `yaml:"-"`

	// Version of the file format; 1 is the only one so far.
	Version int `yaml:"version"`

	Volume     Volume      `yaml:"volume"`
	Parameters []Parameter `yaml:"parameters"`
	// Identity names the parameter that holds the container's FQDN, for applications that
	// need a name other than the runtime's hostname.
	Identity string `yaml:"identity"`
	// Ports are the network ports the application serves; `appagent kube` turns them into
	// Services (and Routes for HTTP ports). The container runtimes do not read them.
	Ports     []Port    `yaml:"ports"`
	Units     []Unit    `yaml:"units"`
	Hooks     Hooks     `yaml:"hooks"`
	Logs      Logs      `yaml:"logs"`
	Container Container `yaml:"container"`
	Diff      Diff      `yaml:"diff"`
	// Checks tell whether the application works (not only whether its units run); the agent
	// runs them and `appagent status` is ready only when they pass.
	Checks []Check `yaml:"checks"`
	// Replication says how instances of the image tell a primary from its replicas, and where
	// a replica finds its primary (docs/replication.md); hooks.join makes a replica.
	Replication *Replication `yaml:"replication"`

	volumeList *volumeList // VolumePaths' result, read once
}

// Replication names the parameters that give an instance its role and its primary.
type Replication struct {
	// Role names the parameter whose value is the instance's role: RolePrimary, RoleReplica,
	// or RoleOrdinal (the hostname's StatefulSet ordinal decides: NAME-0 is the primary).
	Role string `yaml:"role"`
	// Primary names the parameter that holds the primary's address (a host name or an IP
	// address) for a replica; `appagent kube` sets it to the first pod's name in the
	// StatefulSet's headless Service.
	Primary string `yaml:"primary"`

	Line int `yaml:"-"`
}

func (r *Replication) UnmarshalYAML(n *yaml.Node) error {
	type plain Replication
	if err := n.Decode((*plain)(r)); err != nil {
		return err
	}
	r.Line = n.Line
	return nil
}

// The values of the role parameter.
const (
	RolePrimary = "primary"
	RoleReplica = "replica"
	RoleOrdinal = "ordinal"
)

// Roles are the values the role parameter may take.
var Roles = []string{RolePrimary, RoleReplica, RoleOrdinal}

// Volume declares the one volume that holds all state and the paths kept on it.
type Volume struct {
	// Path is the volume's mount point in the container (default /data).
	Path string `yaml:"path"`
	// Template is where `prepare` keeps the image's initial content of the volume paths
	// (default /usr/share/appagent/template).
	Template string `yaml:"template"`
	// Format is the volume format version this image writes (default 1). Raise it when the
	// layout of the volume changes and ship a migration step.
	Format int `yaml:"format"`
	// Migrations is a directory of executables named FROM-TO (e.g. 1-2) that migrate the
	// volume format one step (default /usr/libexec/appagent/migrations).
	Migrations string `yaml:"migrations"`
	// Paths to keep on the volume. Each is an absolute path, or a mapping
	// {path: /x, optional: true} for a path that may not exist at build time.
	Paths []VolumePath `yaml:"paths"`
	// PathsFile names a plain list (one absolute path a line, # comments), the talk's and
	// freeipa-container's volume-data-list, read in addition to Paths.
	PathsFile string `yaml:"paths_file"`
	// PathsFileLine is the line of paths_file in the declaration (for messages).
	PathsFileLine int `yaml:"-"`
	// RequireMount refuses to start when the volume path is not a mount point (the data would
	// live in the container's layer and vanish with it). Default: warn only.
	RequireMount bool `yaml:"require_mount"`
	// KeepBackups is how many upgrade backups (<volume>/.appagent/backup/<time>-<from>-to-<to>/)
	// are kept: after an upgrade has fully succeeded, older ones beyond the newest KeepBackups
	// are deleted, except one whose .appagent-new or .appagent-old files are still waiting for
	// review. 0 keeps all. Unset means DefaultKeepBackups; read it with Backups().
	KeepBackups *int `yaml:"keep_backups"`
	// Downgrade is what a start does on a volume last written by a build newer than this
	// image's: DowngradeRefuse (the default; one start may be allowed with
	// APPAGENT_DOWNGRADE=allow) or DowngradeAllow (with a warning).
	Downgrade string `yaml:"downgrade"`
}

// The values of volume.downgrade.
const (
	DowngradeRefuse = "refuse"
	DowngradeAllow  = "allow"
)

// DefaultKeepBackups is volume.keep_backups when it is not set.
const DefaultKeepBackups = 3

// Backups is volume.keep_backups, or DefaultKeepBackups when it is not set (0 keeps all).
func (v Volume) Backups() int {
	if v.KeepBackups == nil {
		return DefaultKeepBackups
	}
	return *v.KeepBackups
}

// VolumePath is one path kept on the volume.
type VolumePath struct {
	Path     string `yaml:"path"`
	Optional bool   `yaml:"optional"`
	// File, Line and Column say where it was declared (config or paths file); entries of a
	// one-line flow list share a line and differ in column.
	File   string `yaml:"-"`
	Line   int    `yaml:"-"`
	Column int    `yaml:"-"`
	// Problems are this entry's own, found by ValidateVolumePaths and the image check: an
	// entry with an error is left out of later checks, and no other entry is.
	Problems []Problem `yaml:"-"`
}

// Faulted tells whether the entry has an error of its own.
func (v VolumePath) Faulted() bool {
	for _, p := range v.Problems {
		if p.Severity == Error {
			return true
		}
	}
	return false
}

// UnmarshalYAML accepts a plain string or a mapping.
func (v *VolumePath) UnmarshalYAML(n *yaml.Node) error {
	v.Line, v.Column = n.Line, n.Column
	if n.Kind == yaml.ScalarNode {
		v.Path = n.Value
		return nil
	}
	type plain VolumePath
	return n.Decode((*plain)(v))
}

// Parameter declares one configuration parameter of the image.
type Parameter struct {
	// Name is also the environment variable that sets it (upper case, digits, _).
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Required    bool   `yaml:"required"`
	// Default applies when no source sets the parameter.
	Default *string `yaml:"default"`
	// Secret parameters never reach environment files, logs or status output.
	Secret bool `yaml:"secret"`
	// Units lists the application units that receive this secret as a credential
	// (LoadCredential=). Default (no list): every application unit; "units: []": none, only the
	// hooks. Hooks always receive every secret.
	Units []string `yaml:"units"`
	// Type is one of string (default), int, bool, port, hostname, fqdn, email, url.
	Type string `yaml:"type"`
	// Pattern is a regular expression the whole value must match.
	Pattern string `yaml:"pattern"`
	// OneOf lists the allowed values.
	OneOf []string `yaml:"one_of"`
	// Min and Max bound an int.
	Min *int64 `yaml:"min"`
	Max *int64 `yaml:"max"`
	// OnChange says what happens when a later start gives another value than the stored one:
	// ignore (default: keep the stored value, warn), reconfigure (run the reconfigure hook),
	// refuse (exit).
	OnChange string `yaml:"on_change"`

	Line int `yaml:"-"`
}

func (p *Parameter) UnmarshalYAML(n *yaml.Node) error {
	type plain Parameter
	if err := n.Decode((*plain)(p)); err != nil {
		return err
	}
	p.Line = n.Line
	return nil
}

// Port is one network port the application serves.
type Port struct {
	// Name is the port's name in Services: lower case letters, digits and -, at most 15
	// characters (Kubernetes' IANA service name rule), e.g. http, ssh, smtp.
	Name string `yaml:"name"`
	// Port is the port number in the container.
	Port int `yaml:"port"`
	// Protocol is TCP (default), UDP or SCTP.
	Protocol string `yaml:"protocol"`
	// HTTP marks a port that speaks HTTP: it gets an OpenShift Route.
	HTTP bool `yaml:"http"`

	Line int `yaml:"-"`
}

func (p *Port) UnmarshalYAML(n *yaml.Node) error {
	type plain Port
	if err := n.Decode((*plain)(p)); err != nil {
		return err
	}
	p.Line = n.Line
	return nil
}

// Check is one application check: exactly one of Command, HTTP and TCP.
type Check struct {
	// Name identifies the check in status and logs (lower case letters, digits, -).
	Name string `yaml:"name"`
	// Unit is the application unit the check belongs to (shown with it in status), optional.
	Unit string `yaml:"unit"`
	// Command is run by /bin/sh -c as root; exit status 0 passes.
	Command string `yaml:"command"`
	// HTTP is a URL fetched with GET (redirects not followed); Status lists the codes that
	// pass (default 200).
	HTTP   string `yaml:"http"`
	Status []int  `yaml:"status"`
	// TCP is host:port that must accept a connection.
	TCP string `yaml:"tcp"`
	// Interval between runs (default 30s), Timeout of one run (default 5s), StartPeriod from
	// the start of Unit (without one: from the end of the container's start) during which
	// failures before the first pass do not count (default 5m), Retries: consecutive failures
	// that make the check failing (default 3).
	Interval    Duration `yaml:"interval"`
	Timeout     Duration `yaml:"timeout"`
	StartPeriod Duration `yaml:"start_period"`
	Retries     int      `yaml:"retries"`
	// OnFail is what a failing check makes the container: degraded (default) or failed
	// (status exits 22, and the liveness probe restarts the pod).
	OnFail string `yaml:"on_fail"`

	Line int `yaml:"-"`
}

func (c *Check) UnmarshalYAML(n *yaml.Node) error {
	type plain Check
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	c.Line = n.Line
	return nil
}

// Unit is one of the application's systemd units.
type Unit struct {
	Name string `yaml:"name"`
	// Essential units stop the container with ExitCode when they fail.
	Essential bool `yaml:"essential"`
	// ExitCode of the container when this essential unit fails (default 17).
	ExitCode int `yaml:"exit_code"`

	Line int `yaml:"-"`
}

// UnmarshalYAML accepts a plain unit name or a mapping.
func (u *Unit) UnmarshalYAML(n *yaml.Node) error {
	u.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		u.Name = n.Value
		return nil
	}
	type plain Unit
	return n.Decode((*plain)(u))
}

// Hooks are the image's commands run under systemd before the application's units.
type Hooks struct {
	// Configure runs once per volume (first boot).
	Configure *Hook `yaml:"configure"`
	// Upgrade runs once per new image build on an existing volume.
	Upgrade *Hook `yaml:"upgrade"`
	// Reconfigure runs when a parameter declared on_change: reconfigure changed.
	Reconfigure *Hook `yaml:"reconfigure"`
	// Join runs once per volume on a replica (replication:), after configure and before the
	// application's units, with APPAGENT_ROLE and APPAGENT_PRIMARY: it makes this instance a
	// copy of the primary (clone the database, start replicating).
	Join *Hook `yaml:"join"`
	// Check runs when an application check turns failing or passing again, with
	// APPAGENT_CHECK (its name), APPAGENT_CHECK_STATE (failing or passing) and
	// APPAGENT_CHECK_OUTPUT; run by the agent, not as a unit, with the hook's timeout.
	Check *Hook `yaml:"check"`
}

// Hook is a command line in systemd's ExecStart= syntax, or a mapping with options.
type Hook struct {
	Command string `yaml:"command"`
	// ExitCode of the container when the hook fails (defaults per hook, see exitcode).
	ExitCode int `yaml:"exit_code"`
	// Timeout for the hook (default: none, hooks such as database setup can be long).
	Timeout Duration `yaml:"timeout"`
	// Writes are the directories, besides the volume and the container's scratch directories
	// (/tmp, /var/tmp, /run, /dev), that the hook may write beneath. The hook runs confined
	// by Landlock to those, so a link planted on the volume cannot lead its writes into the
	// image; a path that is a link to the volume (volume.paths) is the volume already.
	Writes []string `yaml:"writes"`
	// Confine false runs the hook unconfined (default true): for a hook that must write
	// anywhere, at the price of the guarantee above.
	Confine *bool `yaml:"confine"`

	Line int `yaml:"-"`
}

// Confined tells whether the hook runs confined to the volume, scratch and Writes.
func (h *Hook) Confined() bool { return h.Confine == nil || *h.Confine }

// Writable lists what the confined hook may write beneath besides the scratch directories:
// the volume at volume, then Writes.
func (h *Hook) Writable(volume string) []string { return append([]string{volume}, h.Writes...) }

// ExecPrefix splits the command into systemd's ExecStart= prefix characters (-, @, :, +, !;
// systemd.service(5)) and the command line after them.
func (h *Hook) ExecPrefix() (prefix, rest string) {
	rest = strings.TrimLeft(h.Command, "-@:+!")
	return h.Command[:len(h.Command)-len(rest)], rest
}

func (h *Hook) UnmarshalYAML(n *yaml.Node) error {
	h.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		h.Command = n.Value
		return nil
	}
	type plain Hook
	return n.Decode((*plain)(h))
}

// Logs configures forwarding of the journal to the container's stdout.
type Logs struct {
	// Format is short (default) or json; APPAGENT_LOG_FORMAT overrides it at run time.
	Format string `yaml:"format"`
	// Units and Identifiers restrict forwarding (default: everything).
	Units       []string `yaml:"units"`
	Identifiers []string `yaml:"identifiers"`
	// Priority is the lowest priority forwarded (default info).
	Priority string `yaml:"priority"`
}

// Container configures how the image runs as a container.
type Container struct {
	// Init is the program `appagent init` execs (default /sbin/init).
	Init string `yaml:"init"`
	// Mask adds units to mask at prepare time; Unmask removes names from the default list.
	Mask   []string `yaml:"mask"`
	Unmask []string `yaml:"unmask"`
	// DefaultTarget, when set, becomes the default target.
	DefaultTarget string `yaml:"default_target"`
	// ReadOnly says whether the image runs with a read-only root filesystem (default true:
	// everything it writes is on the volume or in /run and /tmp). `appagent kube` sets
	// readOnlyRootFilesystem from it. Read it with ReadOnlyRoot().
	ReadOnly *bool `yaml:"read_only"`
	// Capabilities the units need beyond the set systemd needs (kube.BaseCapabilities), e.g.
	// NET_ADMIN; `appagent kube` adds them to the container's securityContext.
	Capabilities []string `yaml:"capabilities"`
}

// ReadOnlyRoot is container.read_only, true when it is not set.
func (c Container) ReadOnlyRoot() bool { return c.ReadOnly == nil || *c.ReadOnly }

// Diff configures `appagent diff`.
type Diff struct {
	// Ignore lists more paths that are temporary by nature (added to /run, /tmp, /proc, ...).
	Ignore []string `yaml:"ignore"`
}

// Duration is a time.Duration written as "90s", "10m".
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (examples: 90s, 10m, 1h)", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
