package docker

import (
	"strings"
	"testing"

	"github.com/docker/go-connections/nat"
	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

func port(n int) config.IntOrString { return config.IntOrString{Int: n} }

func TestPortsOf(t *testing.T) {
	pfs := []*config.PortForward{
		{Type: "container", Name: "web", Port: port(80)},
		{Type: "Container", Name: "WEB", Port: port(81)},
		{Type: "deployment", Name: "web", Port: port(82)},
		{Type: "container", Name: "api", Port: port(83)},
	}
	var got []int
	for _, pf := range portsOf(pfs, "web") {
		got = append(got, pf.Port.Int)
	}
	if diff := cmp.Diff([]int{80, 81}, got); diff != "" {
		t.Errorf("ports of web (-want +got):\n%s", diff)
	}
}

func TestBindings(t *testing.T) {
	tests := []struct {
		name    string
		pfs     []*config.PortForward
		exposed nat.PortSet
		bound   nat.PortMap
		err     string
	}{
		{"none", nil, nat.PortSet{}, nat.PortMap{}, ""},
		{"a local port", []*config.PortForward{{Port: port(8080), LocalPort: 9080}},
			nat.PortSet{"8080/tcp": {}}, nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "9080"}}}, ""},
		{"the engine chooses", []*config.PortForward{{Port: port(8080), Address: "localhost"}},
			nat.PortSet{"8080/tcp": {}}, nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1"}}}, ""},
		{"one port on two local ports, once each", []*config.PortForward{
			{Port: port(8080), LocalPort: 9080, Address: "127.0.0.1"}, {Port: port(8080), LocalPort: 9081}, {Port: port(8080), LocalPort: 9081}},
			nat.PortSet{"8080/tcp": {}}, nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "9080"}, {HostIP: "127.0.0.1", HostPort: "9081"}}}, ""},
		{"every address", []*config.PortForward{{Port: port(8080), Address: "0.0.0.0"}}, nil, nil,
			"portForward of container web: a container's port is published on 127.0.0.1 only, not on 0.0.0.0"},
		{"another host's address", []*config.PortForward{{Port: port(8080), Address: "192.168.1.7"}}, nil, nil,
			"not on 192.168.1.7"},
		{"a port name", []*config.PortForward{{Port: config.IntOrString{Str: "http"}}}, nil, nil,
			`portForward of container web: port "http" is not a port number`},
		{"no port", []*config.PortForward{{LocalPort: 9080}}, nil, nil, "port 0 is not a port number"},
		{"a local port too high", []*config.PortForward{{Port: port(80), LocalPort: 70000}}, nil, nil, "localPort 70000 is not a port number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exposed, bound, err := bindings("web", tt.pfs)
			if tt.err != "" {
				if fault.CodeOf(err) != fault.ConfigInvalid || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %s with %q", err, fault.ConfigInvalid, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.exposed, exposed); diff != "" {
				t.Errorf("exposed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.bound, bound); diff != "" {
				t.Errorf("bindings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublished(t *testing.T) {
	got := published(nat.PortMap{
		"9000/tcp": {{HostIP: "127.0.0.1", HostPort: "49153"}},
		"80/tcp":   {{HostIP: "127.0.0.1", HostPort: "9080"}, {HostIP: "127.0.0.1", HostPort: "9081"}},
		"53/udp":   nil, // exposed, not published
	})
	if want := "80/tcp on 127.0.0.1:9080, 80/tcp on 127.0.0.1:9081, 9000/tcp on 127.0.0.1:49153"; got != want {
		t.Errorf("published = %q, want %q", got, want)
	}
}
