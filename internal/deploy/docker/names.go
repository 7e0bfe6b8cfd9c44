package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"slices"
	"strings"

	"github.com/hoist-dev/hoist/internal/deploy"
)

// The labels of what the deployer makes. RunIDLabel names the run that
// made a container or network; ProjectLabel, which a later run of the same
// skaffold.yaml finds it by, is stable across runs.
const (
	RunIDLabel    = deploy.RunIDLabel
	ProjectLabel  = "hoist.dev/project"
	ArtifactLabel = "hoist.dev/artifact"
	DeployerLabel = "hoist.dev/deployer"
	// specLabel holds a digest of what a container was made from (image,
	// network, ports, --label's): one that matches is left running.
	specLabel = "hoist.dev/spec"
)

// ProjectID is the value of ProjectLabel for the config file at path (an
// absolute path): what hoist delete, in another process with another run
// id, finds the containers and networks of that config by.
func ProjectID(path string) string {
	sum := sha256.Sum256([]byte(path))
	return hex.EncodeToString(sum[:6])
}

// NetworkName is the name of the network of a run.
func NetworkName(runID string) string { return "hoist-" + containerName(runID) }

// containerName is the container name of an image name: the name with
// every run of characters a container name cannot hold (such as / and :)
// made one -, and what a name cannot start with dropped.
// registry.example.com:5000/team/web is registry.example.com-5000-team-web.
func containerName(image string) string {
	var b strings.Builder
	dash := false
	for _, r := range image {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.TrimLeft(strings.TrimRight(b.String(), "-"), "_.-")
	if name == "" {
		return "container"
	}
	return name
}

// aliases are the names the other containers of the network reach the
// container of image by: the image name where it is a host name, its
// container name and its last path element (web, for team/web).
func aliases(image string) []string {
	var out []string
	add := func(name string) {
		if name != "" && hostName(name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	add(image)
	add(containerName(image))
	add(containerName(path.Base(image)))
	return out
}

// hostName reports whether name can be looked up as a host name.
func hostName(name string) bool {
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
