package config

import (
	"fmt"
	"strings"
)

// validateReplication checks replication: and hooks.join: the parameters they name exist and
// can carry a role and an address, and a join hook has a role to join by.
func (c *Config) validateReplication(errf func(line int, key, format string, a ...any), seen map[string]int, names []string) {
	r := c.Replication
	if r == nil {
		if c.Hooks.Join != nil {
			errf(c.Hooks.Join.Line, "hooks.join", "a join hook needs replication: (role: and primary: parameters) to know which instances are replicas (docs/replication.md)")
		}
		return
	}
	param := func(key, name, what string) *Parameter {
		if name == "" {
			errf(r.Line, key, "names no parameter; name the parameter that holds %s", what)
			return nil
		}
		if _, ok := seen[name]; !ok {
			msg := fmt.Sprintf("names parameter %q, which is not declared", name)
			if s := Suggest(name, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			errf(r.Line, key, "%s", msg)
			return nil
		}
		for i := range c.Parameters {
			if p := &c.Parameters[i]; p.Name == name {
				if p.Secret {
					errf(p.Line, key, "parameter %s is secret; %s is not a secret (units and the hooks read it from the environment)", name, what)
				}
				return p
			}
		}
		return nil
	}
	if p := param("replication.role", r.Role, "the instance's role"); p != nil {
		for _, v := range p.OneOf {
			if !contains(Roles, v) {
				errf(p.Line, "replication.role", "parameter %s allows %q, which is not a role; a role is one of: %s", p.Name, v, strings.Join(Roles, ", "))
			}
		}
		if p.Default != nil && *p.Default != "" && !contains(Roles, *p.Default) {
			errf(p.Line, "replication.role", "parameter %s defaults to %q, which is not a role; a role is one of: %s", p.Name, *p.Default, strings.Join(Roles, ", "))
		}
	}
	if r.Primary != "" && r.Primary == r.Role {
		errf(r.Line, "replication.primary", "names the role's parameter %s; the primary's address needs its own parameter", r.Role)
	} else {
		param("replication.primary", r.Primary, "the primary's address")
	}
}
