package portforward

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Modes say what --port-forward forwards, with Skaffold's values: user
// (the config's portForward entries), services (every Service the run
// deployed), pods (every container port of the workloads the run
// deployed), debug (accepted so that Skaffold's command lines run; hoist
// has no debug command, so it forwards nothing) and off. true, as when
// the flag was a boolean, means user and services; false means off.
type Modes struct {
	User, Services, Pods, Debug bool
	given                       []string
}

var _ pflag.Value = (*Modes)(nil)

// ParseModes reads a --port-forward value: modes separated by commas.
func ParseModes(s string) (Modes, error) {
	var m Modes
	err := m.Set(s)
	return m, err
}

// Set replaces the modes with those of s, as each --port-forward does.
func (m *Modes) Set(s string) error {
	given := strings.Split(s, ",")
	var next Modes
	for _, g := range given {
		g = strings.TrimSpace(g)
		b, boolErr := strconv.ParseBool(g)
		switch {
		case boolErr == nil || g == "off":
			if len(given) > 1 {
				return fmt.Errorf("%q cannot be combined with other modes", g)
			}
			next.User, next.Services = b, b
		case g == "user":
			next.User = true
		case g == "services":
			next.Services = true
		case g == "pods":
			next.Pods = true
		case g == "debug":
			next.Debug = true
		default:
			return fmt.Errorf("unknown mode %q: use user, services, pods, debug or off, or several separated by commas", g)
		}
		next.given = append(next.given, g)
	}
	*m = next
	return nil
}

// String is the modes as given, off when none is.
func (m *Modes) String() string {
	if len(m.given) == 0 {
		return "off"
	}
	return strings.Join(m.given, ",")
}

// Type names the flag's value in --help.
func (m *Modes) Type() string { return "modes" }

// Enabled reports whether the modes forward anything, or are meant to:
// a run that forwards waits for Ctrl-C after its deploy.
func (m Modes) Enabled() bool { return m.User || m.Services || m.Pods || m.Debug }
