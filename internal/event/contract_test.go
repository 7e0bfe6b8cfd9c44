package event_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestSeedExamples decodes the five example events of the Skaffold Event API
// seed and checks that they encode back to the same fields.
func TestSeedExamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/seed/*.json")
	if len(files) != 5 {
		t.Fatalf("found %d seed examples, want 5", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			env, err := event.UnmarshalJSON(data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := event.MarshalJSON(env)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatalf("seed event: %v", err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("re-encoded event: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("re-encoded seed event differs (-seed +hoist):\n%s", diff)
			}
			testutil.ValidateEvent(t, data)
		})
	}
}

// goldenEvents is one event of every payload, with every field set.
func goldenEvents() map[string]*pb.Event {
	errv := &pb.Error{Code: "BUILD_DOCKER_DAEMON_UNREACHABLE", Message: "cannot reach the Docker daemon at unix:///var/run/docker.sock",
		Suggestions: []string{"start dockerd, or set DOCKER_HOST"}}
	return map[string]*pb.Event{
		"meta": {Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "run", Version: "v0.1.0",
			WorkingDir: "/src/app", Artifacts: []string{"my-app"}, Deployer: "kubectl"}}},
		"build_step": {Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "my-app", Status: pb.Status_IN_PROGRESS,
			Log: "Step 1/5 : FROM ubuntu:22.04", Step: &pb.Step{Index: 1, Total: 5, Instruction: "FROM ubuntu:22.04"}}}},
		"build_succeeded": {Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "my-app", Status: pb.Status_SUCCEEDED,
			Artifact: &pb.Artifact{ImageName: "my-app", Tag: "127.0.0.1:5000/my-app:v1", Digest: "sha256:" + strings.Repeat("ab", 32)}}}},
		"build_log": {Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "my-app", Status: pb.Status_IN_PROGRESS,
			Log: "\x1b[32m#7\x1b[0m RUN echo \"<b>&amp;</b>\" \\\t✓ é 🚀 \u2028"}}},
		"build_failed": {Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "my-app", Status: pb.Status_FAILED, Error: errv}}},
		"deploy": {Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Status: pb.Status_SUCCEEDED, Deployer: "kubectl",
			Manifests: []string{"k8s/deployment.yaml", "k8s/service.yaml"},
			Resources: []*pb.Resource{{Kind: "Deployment", Namespace: "default", Name: "my-app", Action: "created"}}}}},
		"status_check": {Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: &pb.StatusCheckEvent{Resource: "Deployment/default/my-app",
			Status: pb.Status_FAILED, Message: "0/1 replicas ready", Error: &pb.Error{Code: "STATUS_CHECK_IMAGE_PULL_ERR", Message: "ImagePullBackOff"}}}},
		"dev_loop": {Payload: &pb.Event_DevLoopEvent{DevLoopEvent: &pb.DevLoopEvent{Iteration: 2, Status: pb.Status_IN_PROGRESS,
			ChangedFiles: []string{"main.go"}}}},
		"dev_loop_failed": {Payload: &pb.Event_DevLoopEvent{DevLoopEvent: &pb.DevLoopEvent{Iteration: 3, Status: pb.Status_FAILED,
			ChangedFiles: []string{"skaffold.yaml"}, Error: &pb.Error{Code: "CONFIG_INVALID", Message: "skaffold.yaml:3:1: unknown field \"biuld\""}}}},
		"test_log": {Payload: &pb.Event_TestEvent{TestEvent: &pb.TestEvent{Image: "my-app", Status: pb.Status_IN_PROGRESS,
			Log: "ok  \tgithub.com/example/app\t0.012s"}}},
		"test_failed": {Payload: &pb.Event_TestEvent{TestEvent: &pb.TestEvent{Image: "my-app", Status: pb.Status_FAILED,
			Error: &pb.Error{Code: "TEST_CUSTOM_COMMAND_FAILED", Message: "test command \"go test ./...\" of \"my-app\" exited with status 1",
				Suggestions: []string{"run the command by hand with IMAGE set"}}}}},
		"render_succeeded": {Payload: &pb.Event_RenderEvent{RenderEvent: &pb.RenderEvent{Status: pb.Status_SUCCEEDED,
			Manifests: []string{"k8s/deployment.yaml", "k8s/overlays/dev", "charts/web"}}}},
		"render_failed": {Payload: &pb.Event_RenderEvent{RenderEvent: &pb.RenderEvent{Status: pb.Status_FAILED,
			Manifests: []string{"charts/web"}, Error: &pb.Error{Code: "DEPLOY_CHART_INVALID",
				Message: "release web: values file charts/web/values.yaml is not YAML", Suggestions: []string{"fix the chart or the release's values"}}}}},
		"application_log": {Payload: &pb.Event_ApplicationLogEvent{ApplicationLogEvent: &pb.ApplicationLogEvent{Pod: "my-app-7d4b9c8f6-x2k4q",
			Container: "web", Namespace: "default", Message: `{"level":"info","msg":"listening on :8080"}`}}},
		"port": {Payload: &pb.Event_PortEvent{PortEvent: &pb.PortEvent{LocalPort: 9000, RemotePort: 8080,
			Pod: "getting-started-7d9f8b6c5-x2k4p", Container: "web", Namespace: "default",
			ResourceType: "service", ResourceName: "getting-started", Address: "127.0.0.1"}}},
		"sync_succeeded": {Payload: &pb.Event_FileSyncEvent{FileSyncEvent: &pb.FileSyncEvent{Image: "my-app", FileCount: 2, Status: pb.Status_SUCCEEDED}}},
		"sync_failed": {Payload: &pb.Event_FileSyncEvent{FileSyncEvent: &pb.FileSyncEvent{Image: "my-app", FileCount: 1, Status: pb.Status_FAILED,
			Error: &pb.Error{Code: "SYNC_FAILED", Message: "copying 1 file into my-app/my-app-7d9c5b-x2x4q container web: tar: not found",
				Suggestions: []string{"hoist rebuilds the image instead", "add tar to the image to sync without rebuilding"}}}}},
		"termination": {Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_CANCELED,
			Error: &pb.Error{Code: "CANCELED", Message: "interrupted"}}}},
	}
}

// TestGolden pins the exact bytes of every payload's JSON, and checks that
// they are protojson's, whitespace aside, and match the schema. go test
// -update rewrites the golden files.
func TestGolden(t *testing.T) {
	clock := &fakeClock{t: time.Date(2023, 10, 27, 10, 0, 0, 123_000_000, time.UTC)}
	for name, ev := range goldenEvents() {
		t.Run(name, func(t *testing.T) {
			b := testutil.NewBus(t, event.WithClock(clock), event.WithRunID("0192f6a4-7c1e-7d2a-9b3c-4d5e6f708192"))
			env := b.Publish(ev)
			line, err := event.AppendJSON(nil, env)
			if err != nil {
				t.Fatal(err)
			}
			line = append(line, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, line, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(want, line) {
				t.Errorf("JSON of %s changed (-golden +now):\n%s", name, cmp.Diff(string(want), string(line)))
			}
			pj, err := protojson.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, pj); err != nil {
				t.Fatal(err)
			}
			compact.WriteByte('\n')
			if !bytes.Equal(compact.Bytes(), line) {
				t.Errorf("JSON of %s is not protojson's (-protojson +hoist):\n%s", name, cmp.Diff(compact.String(), string(line)))
			}
			testutil.ValidateEvent(t, line)
		})
	}
}

// TestSchemaCoversProto checks that docs/event.schema.json names every field
// of every message of the contract, under its JSON name.
func TestSchemaCoversProto(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.Root(t), "docs", "event.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]struct {
				Properties map[string]any `json:"properties"`
				Items      struct {
					Properties map[string]any `json:"properties"`
				} `json:"items"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	props := func(def string) []string {
		var names []string
		for n := range schema.Defs[def].Properties {
			names = append(names, n)
		}
		slices.Sort(names)
		return names
	}
	jsonNames := func(md protoreflect.MessageDescriptor) []string {
		var names []string
		for i := range md.Fields().Len() {
			names = append(names, md.Fields().Get(i).JSONName())
		}
		slices.Sort(names)
		return names
	}
	ev := (&pb.Event{}).ProtoReflect().Descriptor()
	if diff := cmp.Diff(jsonNames(ev), props("event")); diff != "" {
		t.Errorf("event fields (-proto +schema):\n%s", diff)
	}
	for i := range ev.Fields().Len() {
		f := ev.Fields().Get(i)
		if f.Message() == nil || f.ContainingOneof() == nil {
			continue
		}
		if diff := cmp.Diff(jsonNames(f.Message()), props(f.JSONName())); diff != "" {
			t.Errorf("%s fields (-proto +schema):\n%s", f.JSONName(), diff)
		}
	}
	var env []string
	for n := range schema.Properties {
		env = append(env, n)
	}
	slices.Sort(env)
	if diff := cmp.Diff(jsonNames((&pb.Envelope{}).ProtoReflect().Descriptor()), env); diff != "" {
		t.Errorf("envelope fields (-proto +schema):\n%s", diff)
	}
}
