package docker

import (
	"slices"
	"testing"

	"github.com/hoist-dev/hoist/internal/config"
)

func TestCLIArgs(t *testing.T) {
	v := "1.2"
	a := &config.Artifact{ImageName: "app", Context: "/src/app", Docker: &config.DockerArtifact{Dockerfile: "Dockerfile",
		Target: "prod", Network: "host", NoCache: true, PullParent: true, CacheFrom: []string{"reg/app:cache"}, AddHost: []string{"db:10.0.0.2"},
		Secrets: []*config.DockerSecret{{ID: "npm", Src: "/home/me/.npmrc"}, {ID: "token", Env: "TOKEN"}}, SSH: "default",
		CliFlags: []string{"--label", "team=web"}}}
	got := cliArgs(a, "reg/app:v1", "build/Dockerfile", map[string]*string{"VERSION": &v, "FROM_ENV": nil})
	want := []string{"build", "--file", "build/Dockerfile", "--tag", "reg/app:v1", "--build-arg", "FROM_ENV", "--build-arg", "VERSION=1.2",
		"--target", "prod", "--network", "host", "--no-cache", "--pull", "--cache-from", "reg/app:cache", "--add-host", "db:10.0.0.2",
		"--secret", "id=npm,src=/home/me/.npmrc", "--secret", "id=token,env=TOKEN", "--ssh", "default", "--label", "team=web", "/src/app"}
	if !slices.Equal(got, want) {
		t.Errorf("docker %v\nwant   %v", got, want)
	}
}
