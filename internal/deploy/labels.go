package deploy

import (
	"fmt"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/hoist-dev/hoist/internal/fault"
)

// ParseLabel reads one label of --label: key=value, the key a qualified
// name with an optional DNS-subdomain prefix (app, example.com/team) and
// the value a label value (63 characters at most, alphanumeric at both
// ends, -, _ and . inside, or empty), as Kubernetes accepts them. hoist's
// own labels cannot be set. An error is a usage error that names the
// label and says what is wrong with it.
func ParseLabel(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fault.New(fault.UsageInvalid, fmt.Sprintf("label %q has no =", s),
			"give each label as key=value, such as --label ide=idea (key= for an empty value)")
	}
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return "", "", fault.New(fault.UsageInvalid, fmt.Sprintf("label %q: %q is not a valid label key: %s", s, key, strings.Join(errs, "; ")),
			"a key is a name of at most 63 letters, digits, -, _ and . that starts and ends with a letter or digit, optionally after a DNS prefix and /, such as example.com/team")
	}
	if strings.HasPrefix(key, hoistPrefix) {
		return "", "", fault.New(fault.UsageInvalid, fmt.Sprintf("label %q: keys under %s are hoist's own", s, hoistPrefix),
			"choose a key with another prefix, or none")
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		return "", "", fault.New(fault.UsageInvalid, fmt.Sprintf("label %q: %q is not a valid label value: %s", s, value, strings.Join(errs, "; ")),
			"a value is empty or at most 63 letters, digits, -, _ and . that starts and ends with a letter or digit")
	}
	return key, value, nil
}

// hoistPrefix is the prefix of the labels hoist sets itself, such as
// RunIDLabel.
const hoistPrefix = "hoist.dev/"

// Labels are the labels hoist puts on every object and container a run
// deploys: custom, the labels the user asked for (--label), and the run
// id label when runID is set, which no custom label overrides.
func Labels(runID string, custom map[string]string) map[string]string {
	labels := make(map[string]string, len(custom)+1)
	maps.Copy(labels, custom)
	if runID != "" {
		labels[RunIDLabel] = runID
	}
	return labels
}
