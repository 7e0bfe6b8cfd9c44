package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// atPath is a locator without positions: its errors name the path asked for.
func atPath(path, format string, args ...any) *Error {
	return &Error{Path: path, Message: fmt.Sprintf(format, args...)}
}

// valid returns a converted and defaulted config that validate accepts.
func valid() *Config {
	c := &Config{Build: Build{Artifacts: []*Artifact{{ImageName: "app"}, {ImageName: "worker", Custom: &CustomArtifact{BuildCommand: "./build.sh"}}}}}
	setDefaults(c)
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []*Error
	}{
		{"valid", func(*Config) {}, nil},
		{"empty image", func(c *Config) { c.Build.Artifacts[0].ImageName = "" },
			[]*Error{{Path: "build.artifacts[0].image", Message: "image must not be empty"}}},
		{"image with a tag", func(c *Config) { c.Build.Artifacts[0].ImageName = "app:v1:" },
			[]*Error{{Path: "build.artifacts[0].image", Message: `image "app:v1:" is not a valid image name`,
				Hint: "give a name without tag or digest, such as my-app or registry.example.com/team/my-app"}}},
		{"image twice", func(c *Config) { c.Build.Artifacts[1].ImageName = "app" },
			[]*Error{{Path: "build.artifacts[1].image", Message: `image "app" is configured twice`}}},
		{"two builders", func(c *Config) { c.Build.Artifacts[1].Docker = &DockerArtifact{} },
			[]*Error{{Path: "build.artifacts[1]", Message: `artifact "worker" names two builders, docker and custom`, Hint: "keep one of them"}}},
		{"two tag policies", func(c *Config) { c.Build.TagPolicy.Sha256 = &Sha256Tagger{} },
			[]*Error{{Path: "build.tagPolicy", Message: "tagPolicy sets 2 policies",
				Hint: "choose one of gitCommit, sha256, dateTime, envTemplate, inputDigest, customTemplate"}}},
		{"unknown gitCommit variant", func(c *Config) { c.Build.TagPolicy.GitCommit.Variant = "Commit" },
			[]*Error{{Path: "build.tagPolicy.gitCommit.variant", Message: `unknown gitCommit variant "Commit"`,
				Hint: "use Tags, CommitSha, AbbrevCommitSha, TreeSha or AbbrevTreeSha"}}},
		{"negative concurrency", func(c *Config) { n := -1; c.Build.Local.Concurrency = &n },
			[]*Error{{Path: "build.local.concurrency", Message: "concurrency must be 0 (all at once) or more, got -1"}}},
		{"negative deadline", func(c *Config) { c.Deploy.StatusCheckDeadlineSeconds = -5 },
			[]*Error{{Path: "deploy.statusCheckDeadlineSeconds", Message: "the deadline must be positive"}}},
		{"unknown level", func(c *Config) { c.Event.Log.Level = "eror" },
			[]*Error{{Path: "event.log.level", Message: `"eror" is not one of debug, info, warn, error`, Hint: `did you mean "error"?`}}},
		{"unknown format, nothing near", func(c *Config) { c.Event.Log.Format = "protobuf" },
			[]*Error{{Path: "event.log.format", Message: `"protobuf" is not one of json, text, auto`}}},
		{"two problems, both reported", func(c *Config) {
			c.Build.Artifacts[1].ImageName = "app"
			c.Event.Log.Format = "txt"
		}, []*Error{
			{Path: "build.artifacts[1].image", Message: `image "app" is configured twice`},
			{Path: "event.log.format", Message: `"txt" is not one of json, text, auto`, Hint: `did you mean "text"?`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(c)
			if diff := cmp.Diff(tt.want, validate(c, atPath)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDockerCLIOptionsNeedTheCLI(t *testing.T) {
	c := &Config{Build: Build{Artifacts: []*Artifact{{ImageName: "a", Context: ".", Docker: &DockerArtifact{Dockerfile: "Dockerfile",
		CliFlags: []string{"--label", "x=y"}, Secrets: []*DockerSecret{{ID: "npm", Src: "~/.npmrc"}}, SSH: "default"}}}}}
	setDefaults(c)
	var got []string
	for _, e := range validate(c, atPath) {
		got = append(got, e.Path)
	}
	if want := []string{"build.artifacts[0].docker.cliFlags", "build.artifacts[0].docker.secrets", "build.artifacts[0].docker.ssh"}; !slices.Equal(got, want) {
		t.Errorf("errors at %v, want %v", got, want)
	}
	c.Build.Local.UseDockerCLI = true
	if errs := validate(c, atPath); len(errs) != 0 {
		t.Errorf("with useDockerCLI: %v", errs)
	}
}

func TestKubectlFlags(t *testing.T) {
	grace := int64(5)
	for _, tt := range []struct {
		flags KubectlFlags
		want  KubectlOptions
		err   string
	}{
		{KubectlFlags{Apply: []string{"--server-side", "--force-conflicts", "--field-manager=ci"}, Delete: []string{"--cascade=foreground", "--grace-period=5", "--wait"}},
			KubectlOptions{FieldManager: "ci", Propagation: "Foreground", GracePeriod: &grace}, ""},
		{KubectlFlags{Apply: []string{"--prune"}}, KubectlOptions{}, `apply flag "--prune": hoist applies through the Kubernetes API`},
		{KubectlFlags{Global: []string{"--insecure-skip-tls-verify"}}, KubectlOptions{}, `global flag "--insecure-skip-tls-verify"`},
		{KubectlFlags{Delete: []string{"--grace-period=soon"}}, KubectlOptions{}, "the grace period is a number of seconds"},
	} {
		got, err := tt.flags.Options()
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v: error %v, want %q", tt.flags, err, tt.err)
			}
			continue
		}
		if err != nil || got.FieldManager != tt.want.FieldManager || got.Propagation != tt.want.Propagation || *got.GracePeriod != *tt.want.GracePeriod {
			t.Errorf("%v: %+v %v", tt.flags, got, err)
		}
	}
}

// Each problem is reported once, whatever the command.
func TestProblemsReportedOnce(t *testing.T) {
	for _, command := range []string{"run", "dev", "test", "build", "diagnose"} {
		_, err := ParseWith("skaffold.yaml", []byte("apiVersion: skaffold/v4beta14\nkind: Config\nmanifests: {rawYaml: [a.yaml]}\ndeploy:\n  kubectl:\n    flags: {global: [--v=9]}\n"), Options{Command: command})
		if n := strings.Count(fmt.Sprint(err), "global flag"); n != 1 {
			t.Errorf("%s: reported %d times: %v", command, n, err)
		}
	}
}
