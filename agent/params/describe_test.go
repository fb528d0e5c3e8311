package params

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appagent/appagent/internal/goldenfile"

	"github.com/appagent/appagent/agent/config"
)

func TestDescribeGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "units", "testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, rep := config.Parse("appagent.yaml", data)
	if rep.HasErrors() {
		t.Fatal(rep.String())
	}
	cfg.Parameters = append(cfg.Parameters,
		config.Parameter{Name: "BACKUP_KEEP", Type: "int", Min: i64(1), Max: i64(365), Default: strp("7"), Description: "backups to keep"},
		config.Parameter{Name: "SMTP_TLS", OneOf: []string{"off", "starttls", "tls"}, Default: strp("off"), Description: "TLS to the relay:\n off, starttls or tls"},
		config.Parameter{Name: "SITE", Pattern: "[a-z]+", Secret: true, Default: strp("x")},
	)
	var b strings.Builder
	if err := Describe(&b, cfg); err != nil {
		t.Fatal(err)
	}
	goldenfile.Check(t, "describe.golden", []byte(b.String()))
}
