package params

import (
	"strings"
	"testing"

	"github.com/appagent/appagent/agent/config"
)

func i64(n int64) *int64 { return &n }

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		p     config.Parameter
		value string
		want  string // normalised value; "" with err
		err   string // substring of the error; "" = valid
	}{
		{"string any", config.Parameter{Type: "string"}, "héllo wörld", "héllo wörld", ""},
		{"string empty type", config.Parameter{}, "x", "x", ""},
		{"string newline tab ok", config.Parameter{}, "a\tb\nc", "a\tb\nc", ""},
		{"string control char", config.Parameter{}, "a\x01b", "", "control character"},
		{"string DEL", config.Parameter{}, "a\x7fb", "", "control character"},
		{"string NUL", config.Parameter{}, "a\x00b", "", "NUL"},
		{"string bad utf8", config.Parameter{}, "a\xffb", "", "UTF-8"},
		{"secret binary ok", config.Parameter{Secret: true}, "a\xff\x01b", "a\xff\x01b", ""},
		{"int", config.Parameter{Type: "int"}, "-42", "-42", ""},
		{"int not number", config.Parameter{Type: "int"}, "4x", "", "whole number"},
		{"int float", config.Parameter{Type: "int"}, "1.5", "", "whole number"},
		{"int range ok", config.Parameter{Type: "int", Min: i64(1), Max: i64(10)}, "10", "10", ""},
		{"int range low", config.Parameter{Type: "int", Min: i64(1), Max: i64(10)}, "0", "", "outside 1-10"},
		{"int min only", config.Parameter{Type: "int", Min: i64(5)}, "4", "", "less than 5"},
		{"int max only", config.Parameter{Type: "int", Max: i64(5)}, "6", "", "more than 5"},
		{"bool yes", config.Parameter{Type: "bool"}, "Yes", "true", ""},
		{"bool 0", config.Parameter{Type: "bool"}, "0", "false", ""},
		{"bool off", config.Parameter{Type: "bool"}, "OFF", "false", ""},
		{"bool bad", config.Parameter{Type: "bool"}, "maybe", "", "not a boolean"},
		{"port", config.Parameter{Type: "port"}, "8080", "8080", ""},
		{"port 0", config.Parameter{Type: "port"}, "0", "", "port number"},
		{"port big", config.Parameter{Type: "port"}, "65536", "", "port number"},
		{"port sign", config.Parameter{Type: "port"}, "+80", "", "port number"},
		{"hostname single", config.Parameter{Type: "hostname"}, "wiki", "wiki", ""},
		{"hostname dotted", config.Parameter{Type: "hostname"}, "wiki-1.example.org", "wiki-1.example.org", ""},
		{"hostname underscore", config.Parameter{Type: "hostname"}, "wiki_1", "", "only letters"},
		{"hostname dash start", config.Parameter{Type: "hostname"}, "-wiki", "", "start or end"},
		{"hostname empty label", config.Parameter{Type: "hostname"}, "a..b", "", "1-63"},
		{"hostname long label", config.Parameter{Type: "hostname"}, strings.Repeat("a", 64), "", "1-63"},
		{"hostname too long", config.Parameter{Type: "hostname"}, strings.Repeat("a.", 127) + "ab", "", "253"},
		{"hostname trailing dot", config.Parameter{Type: "hostname"}, "wiki.", "", "trailing dot"},
		{"fqdn", config.Parameter{Type: "fqdn"}, "ipa.example.test", "ipa.example.test", ""},
		{"fqdn single label", config.Parameter{Type: "fqdn"}, "ipa", "", "domain part"},
		{"fqdn ip", config.Parameter{Type: "fqdn"}, "10.0.0.1", "", "address"},
		{"fqdn empty", config.Parameter{Type: "fqdn"}, "", "", "empty"},
		{"email", config.Parameter{Type: "email"}, "admin@example.org", "admin@example.org", ""},
		{"email display name", config.Parameter{Type: "email"}, "Admin <admin@example.org>", "", "email address"},
		{"email no at", config.Parameter{Type: "email"}, "admin", "", "email address"},
		{"email bad domain", config.Parameter{Type: "email"}, "a@b_c", "", "email address"},
		{"url", config.Parameter{Type: "url"}, "https://example.org/x?y=1", "https://example.org/x?y=1", ""},
		{"url relative", config.Parameter{Type: "url"}, "/x", "", "absolute URL"},
		{"pattern whole", config.Parameter{Pattern: "[a-z]+"}, "abc", "abc", ""},
		{"pattern anchored", config.Parameter{Pattern: "[a-z]+"}, "abc1", "", "pattern"},
		{"pattern alternation anchored", config.Parameter{Pattern: "a|b"}, "ab", "", "pattern"},
		{"one_of ok", config.Parameter{OneOf: []string{"small", "large"}}, "large", "large", ""},
		{"one_of bad", config.Parameter{OneOf: []string{"small", "large"}}, "huge", "", "one of: small, large"},
		{"one_of secret hides list", config.Parameter{Secret: true, OneOf: []string{"s3cret"}}, "x", "", "not one of the allowed values"},
		{"bool then one_of sees normalised", config.Parameter{Type: "bool", OneOf: []string{"true"}}, "yes", "true", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.p, tt.value)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Check(%q) = error %v, want %q", tt.value, err, tt.want)
				}
				if got != tt.want {
					t.Fatalf("Check(%q) = %q, want %q", tt.value, got, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Check(%q) = %q, %v; want error containing %q", tt.value, got, err, tt.err)
			}
		})
	}
}

// A secret's value must never appear in an error message.
func TestCheckSecretNotInError(t *testing.T) {
	const secret = "hunter2-XYZ"
	for _, typ := range config.ParamTypes {
		p := config.Parameter{Name: "S", Secret: true, Type: typ, Pattern: "nomatch", OneOf: []string{"a"}}
		if _, err := Check(p, secret); err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("type %s: error shows the secret: %v", typ, err)
		}
	}
}

func TestCheckDeclarations(t *testing.T) {
	def := func(s string) *string { return &s }
	cfg := &config.Config{File: "appagent.yaml", Parameters: []config.Parameter{
		{Name: "PORT", Type: "port", Default: def("80"), Line: 3},
		{Name: "BAD_PORT", Type: "port", Default: def("http"), Line: 7},
		{Name: "SIZE", Type: "int", OneOf: []string{"1", "two"}, Line: 9},
		{Name: "PW", Secret: true, Default: def("changeme"), Line: 12},
	}}
	rep := CheckDeclarations(cfg)
	s := rep.String()
	for _, want := range []string{
		`appagent.yaml:7: error: parameters[1] (BAD_PORT).default: the default fails the parameter's own check: "http" is not a port number`,
		`appagent.yaml:9: error: parameters[2] (SIZE).one_of[1]: can never be given`,
		`appagent.yaml:12: warning: parameters[3] (PW).default: a secret with a default`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "(PORT)") {
		t.Errorf("valid default reported:\n%s", s)
	}
}
