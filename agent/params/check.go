package params

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/appagent/appagent/agent/config"
)

// Check tells whether value satisfies p's declared type, pattern, one_of list and bounds. It
// returns the value as units will see it (bools are normalised to true/false) and, on failure,
// an error that says what is expected without quoting a secret value.
func Check(p config.Parameter, value string) (string, error) {
	show := func() string {
		if p.Secret {
			return "the value"
		}
		return strconv.Quote(value)
	}
	if strings.IndexByte(value, 0) >= 0 {
		return "", fmt.Errorf("%s contains a NUL byte", show())
	}
	if !p.Secret {
		// systemd drops environment assignments that are not UTF-8 or hold control characters
		// other than tab and newline (env_value_is_valid); refuse them here with a reason
		// rather than letting the variable vanish silently in the units.
		if !utf8.ValidString(value) {
			return "", fmt.Errorf("%s is not valid UTF-8 text (declare the parameter secret: true to pass binary data as a credential file)", show())
		}
		for _, r := range value {
			if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
				return "", fmt.Errorf("%s contains the control character %U, which systemd does not pass to units", show(), r)
			}
		}
	}
	typ := p.Type
	if typ == "" {
		typ = "string"
	}
	var err error
	switch typ {
	case "string":
	case "int":
		err = checkInt(p, value)
	case "bool":
		var b bool
		b, err = parseBool(value)
		if err == nil {
			value = strconv.FormatBool(b)
		}
	case "port":
		n, perr := strconv.ParseUint(value, 10, 16)
		if perr != nil || n == 0 {
			err = fmt.Errorf("is not a port number (1-65535)")
		}
	case "hostname":
		err = checkHostname(value, false)
	case "fqdn":
		err = checkHostname(value, true)
	case "email":
		err = checkEmail(value)
	case "url":
		err = checkURL(value)
	default:
		err = fmt.Errorf("has unknown type %q", typ)
	}
	if err != nil {
		return "", fmt.Errorf("%s %v", show(), err)
	}
	if p.Pattern != "" {
		re, rerr := regexp.Compile(`^(?:` + p.Pattern + `)$`)
		if rerr != nil {
			return "", fmt.Errorf("the declared pattern %q does not compile: %v", p.Pattern, rerr)
		}
		if !re.MatchString(value) {
			return "", fmt.Errorf("%s does not match the pattern %s", show(), p.Pattern)
		}
	}
	if len(p.OneOf) > 0 {
		ok := false
		for _, o := range p.OneOf {
			if o == value {
				ok = true
				break
			}
		}
		if !ok {
			if p.Secret {
				return "", fmt.Errorf("the value is not one of the allowed values")
			}
			return "", fmt.Errorf("%s is not one of: %s", show(), strings.Join(p.OneOf, ", "))
		}
	}
	return value, nil
}

func checkInt(p config.Parameter, value string) error {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return fmt.Errorf("is not a whole number")
	}
	switch {
	case p.Min != nil && p.Max != nil && (n < *p.Min || n > *p.Max):
		return fmt.Errorf("is outside %d-%d", *p.Min, *p.Max)
	case p.Min != nil && n < *p.Min:
		return fmt.Errorf("is less than %d", *p.Min)
	case p.Max != nil && n > *p.Max:
		return fmt.Errorf("is more than %d", *p.Max)
	}
	return nil
}

// parseBool accepts the spellings people use in environment variables.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on", "y":
		return true, nil
	case "0", "false", "no", "off", "n":
		return false, nil
	}
	return false, fmt.Errorf("is not a boolean (true/false, yes/no, on/off, 1/0)")
}

// checkHostname checks an RFC 1123 host name; fqdn also wants at least two labels and a
// top-level label that is not all digits (so an IP address is not taken for a name).
func checkHostname(v string, fqdn bool) error {
	what := "host name"
	if fqdn {
		what = "fully qualified domain name (like wiki.example.org)"
	}
	if v == "" {
		return fmt.Errorf("is empty; a %s is expected", what)
	}
	if strings.HasSuffix(v, ".") {
		return fmt.Errorf("ends with a dot; write it without the trailing dot")
	}
	if len(v) > 253 {
		return fmt.Errorf("is longer than 253 characters, too long for a %s", what)
	}
	labels := strings.Split(v, ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 {
			return fmt.Errorf("is not a %s: each dot-separated part must be 1-63 characters", what)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("is not a %s: a part cannot start or end with '-'", what)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("is not a %s: only letters, digits, '-' and '.' are allowed", what)
			}
		}
	}
	if fqdn {
		if len(labels) < 2 {
			return fmt.Errorf("is not a %s: it needs a domain part", what)
		}
		if net.ParseIP(v) != nil || allDigits(labels[len(labels)-1]) {
			return fmt.Errorf("is an address, not a %s", what)
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func checkEmail(v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return fmt.Errorf("is not an email address (like admin@example.org)")
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || checkHostname(v[at+1:], false) != nil {
		return fmt.Errorf("is not an email address: the part after @ must be a domain name")
	}
	return nil
}

func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("is not an absolute URL (like https://example.org/path)")
	}
	return nil
}
