package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSetDefaults(t *testing.T) {
	// defaulted is c, which sets no tag policy, deadline or event log, with
	// their defaults.
	defaulted := func(c Config) *Config {
		if c.Build.TagPolicy == (TagPolicy{}) {
			c.Build.TagPolicy.GitCommit = &GitCommitTagger{Variant: "Tags"}
		}
		c.Deploy.StatusCheckDeadlineSeconds = 600
		c.Deploy.Logs.Prefix = "auto"
		c.Event.Log = EventLog{Level: "info", Format: "auto"}
		return &c
	}
	tests := []struct {
		name     string
		in, want *Config
	}{
		{"empty", &Config{}, defaulted(Config{})},
		{"artifact without a builder is a docker build of the context's Dockerfile",
			&Config{Build: Build{Artifacts: []*Artifact{{ImageName: "app"}}}},
			defaulted(Config{Build: Build{Artifacts: []*Artifact{{ImageName: "app", Context: ".", Docker: &DockerArtifact{Dockerfile: "Dockerfile"}}}}})},
		{"custom artifact gets no docker builder",
			&Config{Build: Build{Artifacts: []*Artifact{{ImageName: "app", Custom: &CustomArtifact{BuildCommand: "make"}}}}},
			defaulted(Config{Build: Build{Artifacts: []*Artifact{{ImageName: "app", Context: ".", Custom: &CustomArtifact{BuildCommand: "make"}}}}})},
		{"gitCommit without a variant tags with tags",
			&Config{Build: Build{TagPolicy: TagPolicy{GitCommit: &GitCommitTagger{Prefix: "v"}}}},
			defaulted(Config{Build: Build{TagPolicy: TagPolicy{GitCommit: &GitCommitTagger{Prefix: "v", Variant: "Tags"}}}})},
		{"what is written stays",
			&Config{
				Build: Build{
					Artifacts: []*Artifact{{ImageName: "app", Context: "sub", Docker: &DockerArtifact{Dockerfile: "Dockerfile.dev"}}},
					TagPolicy: TagPolicy{Sha256: &Sha256Tagger{}},
				},
				Deploy: Deploy{StatusCheckDeadlineSeconds: 30, Logs: Logs{Prefix: "none"}},
				Event:  Event{Log: EventLog{Level: "debug", Format: "text"}},
			},
			&Config{
				Build: Build{
					Artifacts: []*Artifact{{ImageName: "app", Context: "sub", Docker: &DockerArtifact{Dockerfile: "Dockerfile.dev"}}},
					TagPolicy: TagPolicy{Sha256: &Sha256Tagger{}},
				},
				Deploy: Deploy{StatusCheckDeadlineSeconds: 30, Logs: Logs{Prefix: "none"}},
				Event:  Event{Log: EventLog{Level: "debug", Format: "text"}},
			}},
		{"wrong values are left for validate",
			&Config{
				Build:  Build{TagPolicy: TagPolicy{GitCommit: &GitCommitTagger{Variant: "Commit"}, DateTime: &DateTimeTagger{}}},
				Deploy: Deploy{StatusCheckDeadlineSeconds: -1, Logs: Logs{Prefix: "all"}},
				Event:  Event{Log: EventLog{Level: "loud", Format: "yaml"}},
			},
			&Config{
				Build:  Build{TagPolicy: TagPolicy{GitCommit: &GitCommitTagger{Variant: "Commit"}, DateTime: &DateTimeTagger{}}},
				Deploy: Deploy{StatusCheckDeadlineSeconds: -1, Logs: Logs{Prefix: "all"}},
				Event:  Event{Log: EventLog{Level: "loud", Format: "yaml"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setDefaults(tt.in)
			if diff := cmp.Diff(tt.want, tt.in, cmpopts.IgnoreUnexported(Config{}, TagPolicy{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
