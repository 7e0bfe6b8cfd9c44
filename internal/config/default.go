package config

// The values a config gets for the settings it leaves out.
const (
	DefaultStatusCheckDeadlineSeconds = 600
	DefaultLogLevel                   = "info"
	DefaultLogFormat                  = "auto"
)

// setDefaults fills in what c leaves out, as Skaffold does: an artifact's
// context is the config's folder, an artifact without a builder is built by
// docker, a docker build reads the context's Dockerfile, images are tagged
// with the git commit (variant Tags), and the status check deadline, the
// log prefix and the event log's level and format get the values above.
// Wrong values are left for validate to report.
func setDefaults(c *Config) {
	for _, a := range c.Build.Artifacts {
		if a.Context == "" {
			a.Context = "."
		}
		if a.Docker == nil && a.Custom == nil && !a.usesOtherBuilder() {
			a.Docker = &DockerArtifact{}
		}
		if a.Docker != nil && a.Docker.Dockerfile == "" {
			a.Docker.Dockerfile = "Dockerfile"
		}
		for _, r := range a.Requires {
			if r.Alias == "" {
				r.Alias = r.Image
			}
		}
	}
	for _, tc := range c.Test {
		if tc.Context == "" {
			tc.Context = "."
		}
	}
	if c.Build.TagPolicy == (TagPolicy{}) {
		c.Build.TagPolicy.GitCommit = &GitCommitTagger{}
		c.Build.TagPolicy.defaulted = true
	}
	if g := c.Build.TagPolicy.GitCommit; g != nil && g.Variant == "" {
		g.Variant = "Tags"
	}
	if c.Deploy.StatusCheckDeadlineSeconds == 0 {
		c.Deploy.StatusCheckDeadlineSeconds = DefaultStatusCheckDeadlineSeconds
	}
	if c.Deploy.Logs.Prefix == "" {
		c.Deploy.Logs.Prefix = DefaultLogPrefix
	}
	if c.Event.Log.Level == "" {
		c.Event.Log.Level = DefaultLogLevel
	}
	if c.Event.Log.Format == "" {
		c.Event.Log.Format = DefaultLogFormat
	}
}
