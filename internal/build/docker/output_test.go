package docker

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/protobuf/types/known/timestamppb"

	hbuild "github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// line is one line of build output as the Output received it.
type line struct {
	Text string
	Step *hbuild.Step
}

type recorder struct{ lines []line }

func (r *recorder) Line(l string, step *hbuild.Step) { r.lines = append(r.lines, line{l, step}) }

// stream joins the engine's JSON messages, one a line as the engine
// sends them.
func stream(msgs ...string) string { return strings.Join(msgs, "\n") + "\n" }

// trace is a "moby.buildkit.trace" message carrying st.
func trace(t *testing.T, st *controlapi.StatusResponse) string {
	t.Helper()
	raw, err := st.MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	aux, err := json.Marshal(raw) // the engine sends the bytes as base64
	if err != nil {
		t.Fatal(err)
	}
	msg, err := json.Marshal(map[string]any{"id": "moby.buildkit.trace", "aux": json.RawMessage(aux)})
	if err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

func vertex(digest, name string, started, completed bool) *controlapi.Vertex {
	v := &controlapi.Vertex{Digest: digest, Name: name}
	now := timestamppb.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if started {
		v.Started = now
	}
	if completed {
		v.Completed = now
	}
	return v
}

func TestReadClassic(t *testing.T) {
	for _, tc := range []struct {
		name        string
		body        string
		want        []line
		wantImageID string
		wantErr     string
	}{
		{
			name: "steps, pulls and lines that span messages",
			body: stream(
				`{"stream":"Step 1/3 : FROM alpine\n"}`,
				`{"status":"Pulling from library/alpine","id":"latest"}`,
				`{"status":"Downloading","id":"abc","progressDetail":{"current":1,"total":2},"progress":"[=>  ]"}`,
				`{"status":"Pull complete","id":"abc"}`,
				`{"stream":" ---\u003e 1234\n"}`,
				`{"stream":"Step 2/3 : RUN echo hi\n"}`,
				`{"stream":"hi"}`,
				`{"stream":" there\r\nand"}`,
				`{"stream":" more\n"}`,
				`{"aux":{"ID":"sha256:img"}}`,
				`{"stream":"Successfully built img"}`,
			),
			want: []line{
				{"Step 1/3 : FROM alpine", &hbuild.Step{Index: 1, Total: 3, Instruction: "FROM alpine"}},
				{"latest Pulling from library/alpine", nil},
				{"abc Pull complete", nil},
				{" ---> 1234", nil},
				{"Step 2/3 : RUN echo hi", &hbuild.Step{Index: 2, Total: 3, Instruction: "RUN echo hi"}},
				{"hi there", nil},
				{"and more", nil},
				{"Successfully built img", nil},
			},
			wantImageID: "sha256:img",
		},
		{
			name: "an error ends the build after the output before it",
			body: stream(
				`{"stream":"Step 1/1 : RUN false\n"}`,
				`{"stream":"no newline"}`,
				`{"errorDetail":{"code":1,"message":"The command '/bin/sh -c false' returned a non-zero code: 1"},"error":"The command '/bin/sh -c false' returned a non-zero code: 1"}`,
				`{"stream":"never read\n"}`,
			),
			want: []line{
				{"Step 1/1 : RUN false", &hbuild.Step{Index: 1, Total: 1, Instruction: "RUN false"}},
				{"no newline", nil},
			},
			wantErr: "The command '/bin/sh -c false' returned a non-zero code: 1",
		},
		{
			name:    "output that is not JSON",
			body:    `{"stream":"ok\n"}` + "\n" + `{"stream":`,
			want:    []line{{"ok", nil}},
			wantErr: "reading build output: unexpected EOF",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			s := &buildState{out: r}
			err := s.readClassic(strings.NewReader(tc.body))
			if got := errText(err); got != tc.wantErr {
				t.Errorf("error %q, want %q", got, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, r.lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if s.imageID != tc.wantImageID {
				t.Errorf("image id %q, want %q", s.imageID, tc.wantImageID)
			}
		})
	}
}

func TestReadBuildkit(t *testing.T) {
	const (
		load = "[internal] load build definition from Dockerfile"
		from = "[1/2] FROM docker.io/library/alpine"
		run  = "[2/2] RUN make"
	)
	fromStep := &hbuild.Step{Index: 1, Total: 2, Instruction: "FROM docker.io/library/alpine"}
	runStep := &hbuild.Step{Index: 2, Total: 2, Instruction: "RUN make"}
	exit2 := `process "/bin/sh -c make" did not complete successfully: exit code: 2`
	cached := vertex("sha256:d1", from, true, false)
	cached.Cached = true
	failed := vertex("sha256:d2", run, true, false)
	failed.Error = exit2
	for _, tc := range []struct {
		name        string
		body        func(t *testing.T) string
		want        []line
		wantImageID string
		wantErr     string
		wantStep    *hbuild.Step // where a failure is placed
	}{
		{
			name: "each vertex started once, its logs, and how it ended",
			body: func(t *testing.T) string {
				return stream(
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{vertex("sha256:d0", load, true, false)}}),
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{vertex("sha256:d0", load, true, true)}}),
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{cached}}),
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{vertex("sha256:d2", run, true, false)}}),
					trace(t, &controlapi.StatusResponse{Logs: []*controlapi.VertexLog{{Vertex: "sha256:d2", Msg: []byte("cc -o app\nlinked\n")}}}),
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{vertex("sha256:d2", run, true, true)}}),
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{vertex("sha256:d2", run, true, true)}}),
					`{"id":"moby.image.id","aux":{"ID":"sha256:bk"}}`,
				)
			},
			want: []line{
				{load, nil},
				{load + " DONE", nil},
				{from, fromStep},
				{from + " CACHED", nil},
				{run, runStep},
				{"cc -o app", nil},
				{"linked", nil},
				{run + " DONE", nil},
			},
			wantImageID: "sha256:bk",
			wantStep:    runStep,
		},
		{
			name: "a failing vertex: its error line, and the build's error after the rest",
			body: func(t *testing.T) string {
				return stream(
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{vertex("sha256:d2", run, true, false)}}),
					trace(t, &controlapi.StatusResponse{Logs: []*controlapi.VertexLog{{Vertex: "sha256:d2", Msg: []byte("make: *** no rule\n")}}}),
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{failed}}),
					`{"errorDetail":{"message":"`+strings.ReplaceAll(exit2, `"`, `\"`)+`"},"error":"failed"}`,
				)
			},
			want: []line{
				{run, runStep},
				{"make: *** no rule", nil},
				{run + " ERROR: " + exit2, nil},
			},
			wantErr:  exit2,
			wantStep: runStep,
		},
		{
			name: "a failure is placed at the step whose output came last",
			body: func(t *testing.T) string {
				return stream(
					trace(t, &controlapi.StatusResponse{Vertexes: []*controlapi.Vertex{
						vertex("sha256:d1", from, true, false), vertex("sha256:d2", run, true, false)}}),
					trace(t, &controlapi.StatusResponse{Logs: []*controlapi.VertexLog{{Vertex: "sha256:d1", Msg: []byte("resolving\n")}}}),
					`{"errorDetail":{"message":"failed to resolve source metadata"},"error":"failed"}`,
				)
			},
			want:     []line{{from, fromStep}, {run, runStep}, {"resolving", nil}},
			wantErr:  "failed to resolve source metadata",
			wantStep: fromStep,
		},
		{
			name: "aux messages that are not BuildKit's status are skipped",
			body: func(*testing.T) string {
				return stream(`{"id":"moby.buildkit.trace","aux":"bm90IGEgc3RhdHVz"}`, `{"id":"moby.buildkit.trace","aux":{}}`, `{"stream":"plain\n"}`)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			s := &buildState{out: r}
			err := s.readBuildkit(strings.NewReader(tc.body(t)))
			if got := errText(err); got != tc.wantErr {
				t.Errorf("error %q, want %q", got, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, r.lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if s.imageID != tc.wantImageID {
				t.Errorf("image id %q, want %q", s.imageID, tc.wantImageID)
			}
			if diff := cmp.Diff(tc.wantStep, s.step); diff != "" {
				t.Errorf("step of a failure (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseVertex(t *testing.T) {
	for name, want := range map[string]*hbuild.Step{
		"[1/5] FROM alpine":             {Index: 1, Total: 5, Instruction: "FROM alpine"},
		"[ 2/12] RUN make":              {Index: 2, Total: 12, Instruction: "RUN make"},
		"[internal] load .dockerignore": nil,
		"exporting to image":            nil,
		"[3/4 RUN unterminated":         nil,
	} {
		if diff := cmp.Diff(want, parseVertex(name)); diff != "" {
			t.Errorf("parseVertex(%q) (-want +got):\n%s", name, diff)
		}
	}
}

func TestFailure(t *testing.T) {
	a := &config.Artifact{ImageName: "app", Context: "/p/app", Docker: &config.DockerArtifact{Dockerfile: "Dockerfile"}}
	from := &hbuild.Step{Index: 1, Total: 2, Instruction: "FROM nosuch/image"}
	run := &hbuild.Step{Index: 2, Total: 2, Instruction: "RUN make"}
	tail := []string{"make: *** no rule", "make: stop"}
	for _, tc := range []struct {
		name string
		step *hbuild.Step
		tail []string
		msg  string
		want *fault.Error
	}{
		{
			name: "a Dockerfile the engine cannot parse",
			msg:  "dockerfile parse error on line 3: unknown instruction: FORM",
			want: fault.New(fault.BuildDockerfileSyntax,
				`the Dockerfile of "app" has a syntax error: dockerfile parse error on line 3: unknown instruction: FORM`,
				"fix /p/app/Dockerfile"),
		},
		{
			name: "a RUN that fails, classic builder",
			step: run, tail: tail,
			msg: "The command '/bin/sh -c make' returned a non-zero code: 2",
			want: fault.New(fault.BuildRunFailed,
				`the build of "app" failed at step 2/2 (RUN make) with exit status 2: The command '/bin/sh -c make' returned a non-zero code: 2; last output:`+"\nmake: *** no rule\nmake: stop",
				"fix the failing command, or run it in the image to see why it fails"),
		},
		{
			name: "a RUN that fails, BuildKit",
			step: run,
			msg:  `process "/bin/sh -c make" did not complete successfully: exit code: 137`,
			want: fault.New(fault.BuildRunFailed,
				`the build of "app" failed at step 2/2 (RUN make) with exit status 137: process "/bin/sh -c make" did not complete successfully: exit code: 137`,
				"fix the failing command, or run it in the image to see why it fails"),
		},
		{
			name: "a base image that cannot be pulled",
			step: from,
			msg:  "pull access denied for nosuch/image, repository does not exist or may require 'docker login'",
			want: fault.New(fault.BuildBaseImageNotFound,
				`the base image of "app" could not be pulled at step 1/2 (FROM nosuch/image): pull access denied for nosuch/image, repository does not exist or may require 'docker login'`,
				"check the FROM line's image name and that its registry is reachable"),
		},
		{
			name: "a base image BuildKit cannot resolve before any step",
			msg:  "failed to resolve source metadata for docker.io/nosuch/image:latest",
			want: fault.New(fault.BuildBaseImageNotFound,
				`the base image of "app" could not be pulled: failed to resolve source metadata for docker.io/nosuch/image:latest`,
				"check the FROM line's image name and that its registry is reachable"),
		},
		{
			name: "a network error in a RUN is the command's, not the base image's",
			step: run,
			msg:  "dial tcp: lookup example.com: no such host",
			want: fault.New(fault.BuildDockerFailed,
				`the build of "app" failed at step 2/2 (RUN make): dial tcp: lookup example.com: no such host`,
				"check the output above and the Docker engine's log"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &buildState{step: tc.step, tail: tc.tail}
			got := fault.As(s.failure(a, errors.New(tc.msg)))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("failure (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPushFailure(t *testing.T) {
	for msg, want := range map[string]fault.Code{
		`Get "https://reg.local/v2/": dial tcp: lookup reg.local: no such host`: fault.BuildRegistryUnreachable,
		"connect: connection refused":                                           fault.BuildRegistryUnreachable,
		"unexpected EOF":                                                        fault.BuildRegistryUnreachable,
		"denied: requested access to the resource is denied":                    fault.BuildRegistryRefused,
		"unauthorized: authentication required":                                 fault.BuildRegistryRefused,
	} {
		err := pushFailure("reg.local/app:v1", errors.New(msg))
		if got := fault.CodeOf(err); got != want {
			t.Errorf("pushFailure(%q) has code %s, want %s", msg, got, want)
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("pushFailure(%q) = %q, which leaves out the engine's message", msg, err)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
