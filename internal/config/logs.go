package config

import "fmt"

// Logs is deploy.logs: how the text form of the events shows what the
// deployed containers print, as Skaffold's deploy.logs does. The
// applicationLogEvents themselves always carry the line as printed.
type Logs struct {
	// Prefix is what each line starts with: container ([container]),
	// podAndContainer ([pod container]), auto (the default: [pod
	// container], or [container] when the pod is named as its container)
	// or none.
	Prefix string `yaml:"prefix,omitempty"`
	// JSONParse picks fields out of JSON lines.
	JSONParse JSONParse `yaml:"jsonParse,omitempty"`
}

// JSONParse are the top-level fields of a JSON log line that are shown
// instead of the whole line ("level: info, msg: listening"); a line that
// has none of them is shown as printed.
type JSONParse struct {
	Fields []string `yaml:"fields,omitempty"`
}

// LogPrefixes are the values of deploy.logs.prefix.
var LogPrefixes = []string{"auto", "container", "podAndContainer", "none"}

// DefaultLogPrefix is the prefix when deploy.logs sets none.
const DefaultLogPrefix = "auto"

// validateLogs checks deploy.logs: a known prefix, and field names that
// are not empty.
func validateLogs(c *Config, at locator) []*Error {
	var errs []*Error
	if e := oneOf(at, "deploy.logs.prefix", c.Deploy.Logs.Prefix, LogPrefixes...); e != nil {
		errs = append(errs, e)
	}
	for i, f := range c.Deploy.Logs.JSONParse.Fields {
		if f == "" {
			errs = append(errs, at(fmt.Sprintf("deploy.logs.jsonParse.fields[%d]", i), "a field name must not be empty"))
		}
	}
	return errs
}
