package portforward

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The values of Skaffold's --port-forward, with its meaning of each.
func TestParseModes(t *testing.T) {
	tests := []struct {
		in      string
		want    Modes
		enabled bool
		err     string
	}{
		{in: "off"},
		{in: "false"},
		{in: "0"},
		{in: "true", want: Modes{User: true, Services: true}, enabled: true},
		{in: "TRUE", want: Modes{User: true, Services: true}, enabled: true},
		{in: "1", want: Modes{User: true, Services: true}, enabled: true},
		{in: "user", want: Modes{User: true}, enabled: true},
		{in: "services", want: Modes{Services: true}, enabled: true},
		{in: "pods", want: Modes{Pods: true}, enabled: true},
		{in: "debug", want: Modes{Debug: true}, enabled: true},
		{in: "user,services,pods", want: Modes{User: true, Services: true, Pods: true}, enabled: true},
		{in: "pods, user", want: Modes{User: true, Pods: true}, enabled: true},
		{in: "user,off", err: `"off" cannot be combined`},
		{in: "true,pods", err: `"true" cannot be combined`},
		{in: "pods,false", err: `"false" cannot be combined`},
		{in: "service", err: `unknown mode "service"`},
		{in: "", err: `unknown mode ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseModes(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseModes(%q) = %v, want an error with %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Modes{})); diff != "" {
				t.Errorf("modes (-want +got):\n%s", diff)
			}
			if got.Enabled() != tt.enabled {
				t.Errorf("Enabled() = %t", got.Enabled())
			}
		})
	}
}

func TestModesAsAFlagValue(t *testing.T) {
	var m Modes
	if m.String() != "off" {
		t.Errorf("no modes read %q", m.String())
	}
	if err := m.Set("user,pods"); err != nil {
		t.Fatal(err)
	}
	if m.String() != "user,pods" {
		t.Errorf("String() = %q", m.String())
	}
	// Each --port-forward replaces the modes before it, as in Skaffold.
	if err := m.Set("services"); err != nil || m.User || m.Pods || !m.Services {
		t.Errorf("after Set(services): %+v, %v", m, err)
	}
	// A wrong value leaves the modes as they were.
	if err := m.Set("nope"); err == nil || !m.Services {
		t.Errorf("after a wrong value: %+v, %v", m, err)
	}
}
