package params

import (
	"fmt"
	"strings"
)

// EnvLine returns one NAME="value" line for a systemd EnvironmentFile=. The value is
// double-quoted; ", \, ` and $ are escaped with a backslash, and a newline is kept as is
// inside the quotes. This is the one quoting that systemd's parser (parse_env_file_internal,
// src/basic/env-file.c) and a POSIX shell's `. file` read back to the same value, so the file
// also works for `set -a; . /run/appagent/params.env` in scripts.
//
// Values must have passed Check for a non-secret parameter (valid UTF-8, no control
// characters but tab and newline): systemd drops other values from a unit's environment.
func EnvLine(name, value string) string {
	var b strings.Builder
	b.Grow(len(name) + len(value) + 4)
	b.WriteString(name)
	b.WriteString(`="`)
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '"', '\\', '`', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("\"\n")
	return b.String()
}

// ParseEnvFile reads an EnvironmentFile the way systemd does (a port of the state machine of
// systemd's parse_env_file_internal, v252-v256): comments, unquoted, single- and
// double-quoted values, backslash escapes and continuation lines. It exists to test EnvLine
// and to read the file back for `appagent status`; later assignments win.
func ParseEnvFile(data string) (map[string]string, error) {
	const (
		preKey = iota
		key
		preValue
		value
		valueEscape
		singleQuote
		doubleQuote
		doubleQuoteEscape
		comment
		commentEscape
	)
	out := map[string]string{}
	state := preKey
	var k, v strings.Builder
	lastValueWS, lastKeyWS := -1, -1
	isNL := func(c byte) bool { return c == '\n' || c == '\r' }
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	push := func() error {
		kk := k.String()
		if lastKeyWS >= 0 {
			kk = kk[:lastKeyWS]
		}
		vv := v.String()
		if kk == "" {
			return fmt.Errorf("an assignment without a name")
		}
		out[kk] = vv
		k.Reset()
		v.Reset()
		return nil
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch state {
		case preKey:
			if c == '#' || c == ';' {
				state = comment
			} else if !isWS(c) {
				state = key
				lastKeyWS = -1
				k.WriteByte(c)
			}
		case key:
			switch {
			case isNL(c):
				state = preKey
				k.Reset()
			case c == '=':
				state = preValue
				lastValueWS = -1
			default:
				if !isWS(c) {
					lastKeyWS = -1
				} else if lastKeyWS < 0 {
					lastKeyWS = k.Len()
				}
				k.WriteByte(c)
			}
		case preValue:
			switch {
			case isNL(c):
				state = preKey
				if err := push(); err != nil {
					return nil, err
				}
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case !isWS(c):
				state = value
				v.WriteByte(c)
			}
		case value:
			switch {
			case isNL(c):
				state = preKey
				if lastValueWS >= 0 {
					s := v.String()[:lastValueWS]
					v.Reset()
					v.WriteString(s)
				}
				if err := push(); err != nil {
					return nil, err
				}
			case c == '\\':
				state = valueEscape
				lastValueWS = -1
			default:
				if !isWS(c) {
					lastValueWS = -1
				} else if lastValueWS < 0 {
					lastValueWS = v.Len()
				}
				v.WriteByte(c)
			}
		case valueEscape:
			state = value
			if !isNL(c) {
				v.WriteByte(c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				v.WriteByte(c)
			}
		case doubleQuote:
			if c == '"' {
				state = preValue
			} else if c == '\\' {
				state = doubleQuoteEscape
			} else {
				v.WriteByte(c)
			}
		case doubleQuoteEscape:
			state = doubleQuote
			switch {
			case c == '"' || c == '\\' || c == '`' || c == '$':
				v.WriteByte(c)
			case c != '\n':
				v.WriteByte('\\')
				v.WriteByte(c)
			}
		case comment:
			if c == '\\' {
				state = commentEscape
			} else if isNL(c) {
				state = preKey
			}
		case commentEscape:
			if isNL(c) {
				state = preKey
			} else {
				state = comment
			}
		}
	}
	switch state {
	case preValue, value, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		if state == value && lastValueWS >= 0 {
			s := v.String()[:lastValueWS]
			v.Reset()
			v.WriteString(s)
		}
		if err := push(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
