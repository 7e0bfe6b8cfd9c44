package collector

import (
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/fault"
)

func TestParseRetention(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"soon", 0, true},
		{"-3d", 0, true},
		{"0h", 0, true},
		{"d", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseRetention(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && fault.CodeOf(err) != fault.UsageInvalid {
			t.Errorf("ParseRetention(%q): code %s, want %s", tt.in, fault.CodeOf(err), fault.UsageInvalid)
		}
	}
}

func TestLoadTLS(t *testing.T) {
	if cfg, err := loadTLS("", ""); cfg != nil || err != nil {
		t.Errorf("no files: %v, %v; want no TLS", cfg, err)
	}
	if _, err := loadTLS("cert.pem", ""); fault.CodeOf(err) != fault.UsageInvalid {
		t.Errorf("a certificate without its key: %v, want %s", err, fault.UsageInvalid)
	}
	dir := t.TempDir()
	if _, err := loadTLS(dir+"/missing.pem", dir+"/missing.key"); fault.CodeOf(err) != fault.CollectorTLSInvalid {
		t.Errorf("missing files: %v, want %s", err, fault.CollectorTLSInvalid)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://hoist:s3cret@db/hoist": "postgres://hoist:xxxxx@db/hoist",
		"/var/lib/hoist/collector.db":      "/var/lib/hoist/collector.db",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
