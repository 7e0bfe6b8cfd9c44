package docker

import (
	"testing"

	"github.com/docker/go-connections/nat"
	"github.com/google/go-cmp/cmp"
)

func TestContainerName(t *testing.T) {
	for _, tt := range []struct{ image, want string }{
		{"web", "web"},
		{"my_app.v2", "my_app.v2"},
		{"team/web", "team-web"},
		{"registry.example.com:5000/team/web", "registry.example.com-5000-team-web"},
		{"a//b::c", "a-b-c"},
		{"_web", "web"},
		{"web/", "web"},
		{"/", "container"},
		{"", "container"},
		{"wéb", "w-b"},
	} {
		if got := containerName(tt.image); got != tt.want {
			t.Errorf("containerName(%q) = %q, want %q", tt.image, got, tt.want)
		}
	}
}

func TestAliases(t *testing.T) {
	for _, tt := range []struct {
		image string
		want  []string
	}{
		{"web", []string{"web"}},
		{"team/web", []string{"team-web", "web"}},
		{"registry.example.com:5000/team/web", []string{"registry.example.com-5000-team-web", "web"}},
		{"my_app", nil}, // no host name has _
	} {
		if diff := cmp.Diff(tt.want, aliases(tt.image)); diff != "" {
			t.Errorf("aliases(%q) (-want +got):\n%s", tt.image, diff)
		}
	}
}

func TestProjectAndNetworkNames(t *testing.T) {
	a, b := ProjectID("/src/a/skaffold.yaml"), ProjectID("/src/b/skaffold.yaml")
	if a == b || a != ProjectID("/src/a/skaffold.yaml") || len(a) != 12 {
		t.Errorf("ProjectID: %q for a (twice: %q), %q for b: want 12 hex digits, stable, different", a, ProjectID("/src/a/skaffold.yaml"), b)
	}
	if got := NetworkName("01a23563-352f-7193-9187-e112f487518a"); got != "hoist-01a23563-352f-7193-9187-e112f487518a" {
		t.Errorf("NetworkName = %q", got)
	}
}

// A container runs again when its image, network, ports or labels
// (--label) change, and only then.
func TestSpec(t *testing.T) {
	base := planned{imageID: "sha256:1", ports: nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "9080"}}}}
	same := base
	same.image, same.ref = "other", "ref" // not what the container is made from
	otherImage, otherPorts := base, base
	otherImage.imageID = "sha256:2"
	otherPorts.ports = nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1", HostPort: "9081"}}}
	if spec(base, "n1", nil) != spec(same, "n1", map[string]string{}) {
		t.Error("the spec depends on more than the image, network, ports and labels")
	}
	for name, s := range map[string]string{"image": spec(otherImage, "n1", nil), "ports": spec(otherPorts, "n1", nil), "network": spec(base, "n2", nil),
		"labels": spec(base, "n1", map[string]string{"ide": "idea"})} {
		if s == spec(base, "n1", nil) {
			t.Errorf("another %s gives the same spec", name)
		}
	}
}

// What the deployer makes carries --label's and hoist's own labels.
func TestLabels(t *testing.T) {
	d := &Deployer{RunID: "run-1", Project: "p1", Labels: map[string]string{"ide": "idea"}}
	want := map[string]string{"ide": "idea", RunIDLabel: "run-1", ProjectLabel: "p1", DeployerLabel: "docker"}
	if diff := cmp.Diff(want, d.labels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}
