package portforward

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
)

func TestTargets(t *testing.T) {
	entries := []*config.PortForward{
		{Type: "Service", Name: "web", Port: config.IntOrString{Int: 80}, LocalPort: 9000},
		{Type: "deployment", Name: "api", Namespace: "other", Port: config.IntOrString{Str: "http"}, Address: "0.0.0.0"},
		// The Docker deployer's: it publishes them itself.
		{Type: "container", Name: "db", Port: config.IntOrString{Int: 5432}},
	}
	deployed := []deploy.Resource{
		{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "cfg"},
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: "web"},
		{Version: "v1", Kind: "Service", Namespace: "ns", Name: "web"},
		{Version: "v1", Kind: "Service", Name: "cluster-wide"},
		// A kind of another group that only shares the name.
		{Group: "example.com", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: "custom"},
	}
	web := Target{Type: "service", Name: "web", Namespace: "ns", Port: intstr.FromInt32(80), Address: "127.0.0.1", LocalPort: 9000, User: true}
	api := Target{Type: "deployment", Name: "api", Namespace: "other", Port: intstr.FromString("http"), Address: "0.0.0.0", User: true}
	webService := Target{Type: "service", Name: "web", Namespace: "ns", Address: "127.0.0.1"}
	clusterWide := Target{Type: "service", Name: "cluster-wide", Namespace: "ns", Address: "127.0.0.1"}
	webDeployment := Target{Type: "deployment", Name: "web", Namespace: "ns", Address: "127.0.0.1"}
	tests := []struct {
		modes string
		want  []Target
	}{
		{"off", nil},
		{"user", []Target{web, api}},
		{"services", []Target{webService, clusterWide}},
		{"pods", []Target{webDeployment}},
		// The config's entries first, then the Services, then the workloads.
		{"pods,services,user", []Target{web, api, webService, clusterWide, webDeployment}},
		{"true", []Target{web, api, webService, clusterWide}},
	}
	for _, tt := range tests {
		t.Run(tt.modes, func(t *testing.T) {
			m, err := ParseModes(tt.modes)
			if err != nil {
				t.Fatal(err)
			}
			got := Targets(m, entries, "ns", deployed)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTargetNamedTwiceIsForwardedOnce(t *testing.T) {
	entries := []*config.PortForward{
		{Type: "service", Name: "web", Port: config.IntOrString{Int: 80}, LocalPort: 9000},
		{Type: "service", Name: "web", Namespace: "ns", Port: config.IntOrString{Int: 80}, LocalPort: 9100},
	}
	got := Targets(Modes{User: true}, entries, "ns", nil)
	if len(got) != 1 || got[0].LocalPort != 9000 {
		t.Errorf("targets = %+v, want the first entry only", got)
	}
}

func TestWantedLocalPort(t *testing.T) {
	tests := []struct {
		t    Target
		want int
	}{
		{Target{Port: intstr.FromInt32(80), LocalPort: 9000}, 9000},
		{Target{Port: intstr.FromInt32(8080)}, 8080},
		// A system port is not taken as the local port: the spare ports are.
		{Target{Port: intstr.FromInt32(80)}, 0},
		{Target{Port: intstr.FromString("http")}, 0},
	}
	for _, tt := range tests {
		if got := wanted(tt.t); got != tt.want {
			t.Errorf("wanted(%+v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}
