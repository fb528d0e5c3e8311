package replication

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/appagent/appagent/agent/config"
	"github.com/appagent/appagent/agent/exitcode"
	"github.com/appagent/appagent/agent/params"
)

// Role is what this instance is.
type Role struct {
	Name string // config.RolePrimary or config.RoleReplica
	// Primary is the primary's address; "" for a primary that was given none.
	Primary string
	// Ordinal is the StatefulSet ordinal the role came from; -1 when the parameter said it.
	Ordinal int
	// From says how the role was decided, for messages and status: "WIKI_ROLE=replica".
	From string
}

// IsReplica tells whether this instance must be a copy of a primary.
func (r Role) IsReplica() bool { return r.Name == config.RoleReplica }

// A StatefulSet's pods are named <statefulset>-<ordinal>, and so are their hostnames.
var ordinalRe = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)-(0|[1-9][0-9]{0,8})$`)

// Ordinal is the StatefulSet ordinal of hostname (its first label), or -1 when the name is not
// one of a StatefulSet's pods.
func Ordinal(hostname string) int {
	label, _, _ := strings.Cut(hostname, ".")
	m := ordinalRe.FindStringSubmatch(label)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[3])
	if err != nil {
		return -1
	}
	return n
}

// Decide returns the role r's parameters give (value returns a parameter's resolved value),
// with hostname for the ordinal. Every problem is reported at once, each naming its parameter
// and the fix; the error carries exitcode.Params.
func Decide(r *config.Replication, value func(name string) string, hostname string) (Role, error) {
	role := Role{Ordinal: -1, Primary: strings.TrimSpace(value(r.Primary))}
	v := strings.TrimSpace(value(r.Role))
	var problems []string
	switch v {
	case config.RolePrimary, config.RoleReplica:
		role.Name = v
		role.From = fmt.Sprintf("%s=%s", r.Role, v)
	case config.RoleOrdinal:
		n := Ordinal(hostname)
		if n < 0 {
			problems = append(problems, fmt.Sprintf("%s=ordinal, but the hostname %q is not a StatefulSet pod's (NAME-0, NAME-1, …); run the image in a StatefulSet, or set %s to primary or replica",
				r.Role, hostname, r.Role))
			break
		}
		role.Ordinal = n
		role.Name = config.RoleReplica
		if n == 0 {
			role.Name = config.RolePrimary
		}
		role.From = fmt.Sprintf("hostname %s (%s=ordinal)", hostname, r.Role)
	case "":
		problems = append(problems, fmt.Sprintf("%s is not set; set it to one of: %s", r.Role, strings.Join(config.Roles, ", ")))
	default:
		problems = append(problems, fmt.Sprintf("%s=%q is not a role; set it to one of: %s", r.Role, v, strings.Join(config.Roles, ", ")))
	}
	if role.Name == config.RoleReplica && role.Primary == "" {
		problems = append(problems, fmt.Sprintf("%s is empty, and a replica (%s) needs the primary's address to join it; set %s to the primary's host name or IP address",
			r.Primary, role.From, r.Primary))
	}
	if len(problems) > 0 {
		return Role{}, exitcode.Withf(exitcode.Params, "replication: %s", strings.Join(problems, "; "))
	}
	return role, nil
}

// Values looks parameters up in a resolved set ("" for one not set).
func Values(set *params.Set) func(name string) string {
	return func(name string) string {
		if v, ok := set.Get(name); ok && v.IsSet() {
			return v.Value
		}
		return ""
	}
}
