// Package build turns configured artifacts into images. A Builder builds
// one artifact and reports its output lines; the runner turns those into
// buildEvents. Builders live in subpackages (custom, docker); tagging and
// the inputs of an artifact are here because every builder shares them.
package build

import (
	"context"
	"strings"

	"github.com/hoist-dev/hoist/internal/config"
)

// Output receives a build's output, one line at a time, in order.
type Output interface {
	// Line reports one line of output, without its newline. step is set
	// when the line starts a build step.
	Line(line string, step *Step)
}

// LinesOutput is an Output that also takes many lines at once, without a
// step: all those that one read of a build program's output gave.
type LinesOutput interface {
	Output
	// Lines reports lines of output in order, as Line does each with no
	// step. It must not keep the slice.
	Lines(lines []string)
}

// Backlogged is an Output that chooses how much output a build program may
// print ahead of it, unread.
type Backlogged interface {
	Output
	// Backlog returns that many bytes, or 0 for the system's default: the
	// size of the program's output pipe.
	Backlog() int
}

// Backlog returns how much output a build program may print ahead of out
// (see Backlogged): 0, the system's default, unless out chooses.
func Backlog(out Output) int {
	if b, ok := out.(Backlogged); ok {
		return b.Backlog()
	}
	return 0
}

// LinesTo returns the function that reports lines to out: all at once for a
// LinesOutput, else one by one.
func LinesTo(out Output) func(lines []string) {
	if lo, ok := out.(LinesOutput); ok {
		return lo.Lines
	}
	return func(lines []string) {
		for _, l := range lines {
			out.Line(l, nil)
		}
	}
}

// Step is one instruction of a build.
type Step struct {
	Index, Total int
	Instruction  string
}

// Result is a built image.
type Result struct {
	// ImageName is the configured image name.
	ImageName string `json:"imageName"`
	// Tag is the full reference that was built: registry/name:tag.
	Tag string `json:"tag"`
	// Digest is the registry manifest digest when pushed, else the local
	// image id.
	Digest string `json:"digest,omitempty"`
	// Pushed tells whether the image is in a registry.
	Pushed bool `json:"pushed,omitempty"`
}

// Reference is how other builds and deploys name the image: by digest when
// it was pushed, else by the tag the local engine has.
func (r Result) Reference() string {
	if r.Pushed && r.Digest != "" {
		return r.Tag + "@" + r.Digest
	}
	return r.Tag
}

// Builder builds one artifact as tag.
type Builder interface {
	Build(ctx context.Context, out Output, a *config.Artifact, tag string) (Result, error)
}

// Repository strips the tag and the digest from an image reference:
// "reg:5000/app:v1@sha256:..." is "reg:5000/app".
func Repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}
