package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/opencontainers/go-digest"

	hbuild "github.com/hoist-dev/hoist/internal/build"
)

// readBuildkit reads a BuildKit build's progress: the engine wraps
// BuildKit's status updates in "moby.buildkit.trace" messages. Each vertex
// (a Dockerfile step) that starts becomes a step line, its logs become
// lines of that step, and cached and done vertices are reported as such.
func (s *buildState) readBuildkit(r io.Reader) error {
	steps := map[digest.Digest]*hbuild.Step{}
	started := map[digest.Digest]bool{}
	done := map[digest.Digest]bool{}
	var buildErr error
	for m, err := range messages(r) {
		if err != nil {
			return err
		}
		if m.Error != nil {
			buildErr = errors.New(m.Error.Message)
			continue
		}
		if m.Aux == nil {
			continue
		}
		switch m.ID {
		case "moby.image.id":
			var aux struct {
				ID string `json:"ID"`
			}
			if json.Unmarshal(*m.Aux, &aux) == nil {
				s.imageID = aux.ID
			}
		case "moby.buildkit.trace":
			var raw []byte
			if err := json.Unmarshal(*m.Aux, &raw); err != nil {
				continue
			}
			var st controlapi.StatusResponse
			if err := st.UnmarshalVT(raw); err != nil {
				continue
			}
			for _, v := range st.Vertexes {
				d := digest.Digest(v.Digest)
				step := steps[d]
				if step == nil {
					step = parseVertex(v.Name)
					steps[d] = step
				}
				if v.Started != nil && !started[d] {
					started[d] = true
					s.step = step
					s.line(v.Name, step)
				}
				switch {
				case done[d]:
				case v.Error != "":
					done[d] = true
					s.line(v.Name+" ERROR: "+v.Error, nil)
				case v.Cached:
					done[d] = true
					s.line(v.Name+" CACHED", nil)
				case v.Completed != nil:
					done[d] = true
					s.line(v.Name+" DONE", nil)
				}
			}
			for _, l := range st.Logs {
				s.step = steps[digest.Digest(l.Vertex)]
				s.write(string(l.Msg))
				s.flush()
			}
		}
	}
	return buildErr
}

// parseVertex reads "[ 2/5] RUN make" into a step; other vertices (loading
// the context, exporting) have none.
func parseVertex(name string) *hbuild.Step {
	var i, n int
	var rest string
	if strings.HasPrefix(name, "[") {
		end := strings.Index(name, "]")
		if end > 0 {
			if k, _ := fmt.Sscanf(strings.ReplaceAll(name[1:end], " ", ""), "%d/%d", &i, &n); k == 2 {
				rest = strings.TrimSpace(name[end+1:])
				return &hbuild.Step{Index: i, Total: n, Instruction: rest}
			}
		}
	}
	return nil
}
