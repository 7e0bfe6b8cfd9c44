package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/cli"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestMain lets the test binary stand in for a build tool: with
// HOIST_FAKE_PUSH set it prints a few lines and pushes a random image to
// $IMAGE, as a custom buildCommand would.
func TestMain(m *testing.M) {
	if os.Getenv("HOIST_FAKE_PUSH") != "" {
		fakePush()
		return
	}
	// Keep the artifact cache of these tests away from the user's, but
	// keep Go's build cache where it is, for the builds of hoist.
	if os.Getenv("GOCACHE") == "" {
		if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
			setenv("GOCACHE", strings.TrimSpace(string(out)))
		}
	}
	dir, err := os.MkdirTemp("", "hoist-cli-test-cache-")
	if err != nil {
		panic(err)
	}
	setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "removing the tests' artifact cache:", err)
	}
	os.Exit(code)
}

func setenv(k, v string) {
	if err := os.Setenv(k, v); err != nil {
		panic(err)
	}
}

func fakePush() {
	image := os.Getenv("IMAGE")
	// It is the build tool: its stdout is the build's output.
	say := func(format string, args ...any) {
		if _, err := fmt.Fprintf(os.Stdout, format, args...); err != nil {
			os.Exit(2)
		}
	}
	for i := 1; i <= 3; i++ {
		say("%s line %d\n", filepath.Base(image), i)
	}
	fmt.Fprintln(os.Stderr, "a line on stderr")
	ref, err := name.ParseReference(image)
	if err != nil {
		say("%v\n", err)
		os.Exit(1)
	}
	img, _ := random.Image(256, 1)
	if err := remote.Write(ref, img); err != nil {
		say("%v\n", err)
		os.Exit(1)
	}
}

type result struct {
	code   int
	stdout string
	stderr string
	events []*pb.Envelope
}

func run(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	r := runPlain(ctx, args...)
	for line := range strings.Lines(r.stdout) {
		env, err := event.UnmarshalJSON([]byte(line))
		if err != nil {
			t.Fatalf("stdout line is not an event: %v: %q", err, line)
		}
		testutil.ValidateEvent(t, []byte(line))
		r.events = append(r.events, env)
	}
	return r
}

// project writes a skaffold.yaml with one custom artifact per image and
// returns its path.
// runPlain runs hoist with args, for commands whose stdout is not events.
func runPlain(ctx context.Context, args ...string) result {
	var out, errb bytes.Buffer
	cmd := cli.NewRoot(cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		errb.WriteString(fault.Format(err))
	}
	return result{code: fault.ExitCode(err), stdout: out.String(), stderr: errb.String()}
}

func project(t *testing.T, extra string, images ...string) string {
	t.Helper()
	dir := t.TempDir()
	exe, _ := os.Executable()
	var b strings.Builder
	b.WriteString("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  tagPolicy:\n    envTemplate:\n      template: v1\n  artifacts:\n")
	for _, img := range images {
		fmt.Fprintf(&b, "  - image: %s\n    custom:\n      buildCommand: HOIST_FAKE_PUSH=1 %s\n", img, exe)
	}
	b.WriteString(extra)
	path := filepath.Join(dir, "skaffold.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// slowProject writes a skaffold.yaml whose one artifact, "slow", is built
// by a command that prints a line every 100ms, lines times, then pushes;
// it returns its path. A run of it is in progress for lines/10 seconds.
func slowProject(t *testing.T, lines int) string {
	t.Helper()
	exe, _ := os.Executable()
	script := fmt.Sprintf("for i in $(seq 1 %d); do echo \"compiling unit $i\"; sleep 0.1; done; HOIST_FAKE_PUSH=1 %s", lines, exe)
	cfg := fmt.Sprintf("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  tagPolicy:\n    envTemplate:\n      template: v1\n  artifacts:\n  - image: slow\n    custom:\n      buildCommand: %s\n  local:\n    push: true\n", strconv.Quote(script))
	path := filepath.Join(t.TempDir(), "skaffold.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startRegistry serves an in-memory registry until the test ends and
// returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	return strings.TrimPrefix(testutil.Serve(t, srv), "http://")
}

// checkRun checks what every run promises: one event_id, a contiguous
// sequence from 1, a metaEvent first and a terminationEvent last.
func checkRun(t *testing.T, events []*pb.Envelope, want pb.Status) {
	t.Helper()
	if len(events) < 2 {
		t.Fatalf("only %d events", len(events))
	}
	for i, e := range events {
		if e.EventId != events[0].EventId {
			t.Errorf("event %d has event_id %s, want %s", i, e.EventId, events[0].EventId)
		}
		if e.Event.Sequence != uint32(i+1) {
			t.Errorf("event %d has sequence %d", i, e.Event.Sequence)
		}
	}
	if events[0].Event.GetMetaEvent() == nil {
		t.Errorf("first event is not a metaEvent: %v", events[0])
	}
	term := events[len(events)-1].Event.GetTerminationEvent()
	if term == nil || term.Status != want {
		t.Errorf("last event = %v, want terminationEvent %s", events[len(events)-1], want)
	}
}

func TestBuildPushesAndReportsDigest(t *testing.T) {
	reg := startRegistry(t)
	cfg := project(t, "  local:\n    push: true\n", "my-app")
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	r := run(t, t.Context(), "build", "-f", cfg, "--default-repo", reg, "--event-log-file", logFile)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	var shape []string
	for _, e := range r.events {
		ev := e.Event
		s := event.TypeOf(ev) + " " + event.StatusOf(ev).String()
		if l := ev.GetBuildEvent().GetLog(); l != "" {
			s += " " + l
		}
		shape = append(shape, s)
	}
	want := []string{
		"metaEvent STATUS_UNSPECIFIED",
		"buildEvent IN_PROGRESS",
		"buildEvent IN_PROGRESS my-app:v1 line 1",
		"buildEvent IN_PROGRESS my-app:v1 line 2",
		"buildEvent IN_PROGRESS my-app:v1 line 3",
		"buildEvent IN_PROGRESS a line on stderr",
		"buildEvent SUCCEEDED",
		"terminationEvent SUCCEEDED",
	}
	if diff := cmp.Diff(want, shape); diff != "" {
		t.Errorf("event stream (-want +got):\n%s", diff)
	}
	art := r.events[len(r.events)-2].Event.GetBuildEvent().GetArtifact()
	ref := reg + "/my-app:v1"
	desc, err := remote.Head(must(name.ParseReference(ref)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&pb.Artifact{ImageName: "my-app", Tag: ref, Digest: desc.Digest.String()}, art, cmpProto()); diff != "" {
		t.Errorf("artifact (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(canonical(t, r.stdout), canonical(t, string(data))); diff != "" {
		t.Errorf("event log file differs from stdout (-stdout +file):\n%s", diff)
	}
}

func TestBuildFailureCarriesExitStatusAndOutput(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "skaffold.yaml")
	writeFile(t, cfg, []byte(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {sha256: {}}
  artifacts:
  - image: broken
    custom:
      buildCommand: 'echo compiling; echo "error: undefined: foo" >&2; exit 7'
`))
	r := run(t, t.Context(), "build", "-f", cfg)
	if r.code != fault.ExitBuild {
		t.Fatalf("exit %d, want %d\n%s", r.code, fault.ExitBuild, r.stderr)
	}
	checkRun(t, r.events, pb.Status_FAILED)
	failed := r.events[len(r.events)-2].Event.GetBuildEvent()
	if failed.GetStatus() != pb.Status_FAILED || failed.GetError().GetCode() != "BUILD_CUSTOM_COMMAND_FAILED" {
		t.Fatalf("build event = %v", failed)
	}
	for _, want := range []string{"exited with status 7", "error: undefined: foo", "compiling"} {
		if !strings.Contains(failed.Error.Message, want) {
			t.Errorf("error message %q does not contain %q", failed.Error.Message, want)
		}
	}
	if len(failed.Error.Suggestions) == 0 {
		t.Error("no suggestion")
	}
	if !strings.Contains(r.stderr, "BUILD_CUSTOM_COMMAND_FAILED") {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestBrokenConfig(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown field", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n    contxt: .\n", ":6:5: "},
		{"bad indentation", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts:\n  - image: a\n     context: .\n", ":6:6: "},
		{"wrong type", "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  local:\n    concurrency: many\n", ":5:18: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
			writeFile(t, cfg, []byte(tt.yaml))
			r := run(t, t.Context(), "build", "-f", cfg)
			if r.code != fault.ExitConfig {
				t.Fatalf("exit %d, want %d", r.code, fault.ExitConfig)
			}
			if !strings.Contains(r.stderr, cfg+tt.want) {
				t.Errorf("stderr does not name %s%s:\n%s", cfg, tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace on stderr:\n%s", r.stderr)
			}
			checkRun(t, r.events, pb.Status_FAILED)
			if code := r.events[len(r.events)-1].Event.GetTerminationEvent().GetError().GetCode(); code != "CONFIG_INVALID" {
				t.Errorf("termination error code = %s", code)
			}
		})
	}
}

func TestConcurrentBuildsKeepEachArtifactInOrder(t *testing.T) {
	reg := startRegistry(t)
	images := []string{"a", "b", "c", "d"}
	cfg := project(t, "  local:\n    push: true\n    concurrency: 0\n", images...)
	r := run(t, t.Context(), "build", "-f", cfg, "--default-repo", reg)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	per := map[string][]string{}
	for _, e := range r.events {
		if be := e.Event.GetBuildEvent(); be != nil {
			s := be.Status.String()
			if be.Log != "" {
				s = be.Log
			}
			per[be.Image] = append(per[be.Image], s)
		}
	}
	for _, img := range images {
		want := []string{"IN_PROGRESS", img + ":v1 line 1", img + ":v1 line 2", img + ":v1 line 3", "a line on stderr", "SUCCEEDED"}
		if diff := cmp.Diff(want, per[img]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", img, diff)
		}
	}
}

func TestMissingContext(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
	writeFile(t, cfg, []byte("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  tagPolicy: {sha256: {}}\n  artifacts:\n  - image: a\n    context: nowhere\n    custom: {buildCommand: 'true'}\n"))
	r := run(t, t.Context(), "build", "-f", cfg)
	if r.code != fault.ExitBuild {
		t.Fatalf("exit %d", r.code)
	}
	if code := r.events[len(r.events)-2].Event.GetBuildEvent().GetError().GetCode(); code != "BUILD_CONTEXT_MISSING" {
		t.Errorf("code = %s", code)
	}
}

// TestInterruptCancelsBuilds runs the real binary, interrupts it mid-build
// and checks that the builds and the run end CANCELED with exit code 130.
func TestInterruptCancelsBuilds(t *testing.T) {
	bin := hoistBinary(t)
	cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
	writeFile(t, cfg, []byte("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  tagPolicy: {sha256: {}}\n  local: {concurrency: 2}\n  artifacts:\n  - image: slow1\n    custom: {buildCommand: 'echo started; sleep 60'}\n  - image: slow2\n    custom: {buildCommand: 'echo started; sleep 60'}\n"))
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	cmd := exec.Command(bin, "build", "-f", cfg, "--event-log-file", logFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(readFile(logFile), "started") < 2 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill() // the test fails anyway
			t.Fatalf("builds did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("hoist took %v to stop", took)
	}
	if code := cmd.ProcessState.ExitCode(); code != fault.ExitCanceled {
		t.Fatalf("exit %d (%v), want %d\n%s", code, err, fault.ExitCanceled, stderr.String())
	}
	var events []*pb.Envelope
	for line := range strings.Lines(stdout.String()) {
		env, err := event.UnmarshalJSON([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, env)
	}
	checkRun(t, events, pb.Status_CANCELED)
	canceled := 0
	for _, e := range events {
		if e.Event.GetBuildEvent().GetStatus() == pb.Status_CANCELED {
			canceled++
		}
	}
	if canceled != 2 {
		t.Errorf("%d builds ended CANCELED, want 2", canceled)
	}
	if diff := cmp.Diff(canonical(t, stdout.String()), canonical(t, readFile(logFile))); diff != "" {
		t.Errorf("event log file differs from stdout:\n%s", diff)
	}
}

func TestEventsCommandReadsFile(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
	writeFile(t, cfg, []byte("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  tagPolicy: {sha256: {}}\n  artifacts:\n  - image: a\n    custom: {buildCommand: 'echo one; exit 1'}\n"))
	first := run(t, t.Context(), "build", "-f", cfg, "--event-log-file", logFile)
	r := run(t, t.Context(), "events", "--file", logFile)
	if diff := cmp.Diff(canonical(t, first.stdout), canonical(t, r.stdout)); diff != "" {
		t.Errorf("events --file (-run +events):\n%s", diff)
	}
	r = run(t, t.Context(), "events", "--file", logFile, "--status", "FAILED", "--type", "buildEvent")
	if len(r.events) != 1 || r.events[0].Event.GetBuildEvent().GetStatus() != pb.Status_FAILED {
		t.Errorf("filtered events = %v", r.events)
	}
	var out bytes.Buffer
	cmd := cli.NewRoot(cli.Streams{Out: &out, Err: &out})
	cmd.SetArgs([]string{"events", "--file", logFile, "--output", "text"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "build   a FAILED [BUILD_CUSTOM_COMMAND_FAILED]") {
		t.Errorf("text output:\n%s", out.String())
	}
	writeFile(t, logFile, []byte("not json\n"))
	r = run(t, t.Context(), "events", "--file", logFile)
	if r.code != fault.ExitEvents || !strings.Contains(r.stderr, logFile+":1: not a hoist event") {
		t.Errorf("bad file: exit %d, stderr %q", r.code, r.stderr)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// hoistBinary builds hoist and hoist-render once for the tests that need
// a real process, and beside them the test's Event API client
// (subscriberBinary).
func hoistBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hoist-bin-")
		if err != nil {
			binErr = err
			return
		}
		// hoist-render beside it, where hoist looks for it.
		binPath = filepath.Join(dir, "hoist")
		if out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/hoist-dev/hoist/cmd/hoist", "github.com/hoist-dev/hoist/cmd/hoist-render",
			"github.com/hoist-dev/hoist/internal/testutil/subscriber").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building hoist: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// subscriberBinary is the Event API client of internal/testutil/subscriber,
// built without the race detector.
func subscriberBinary(t testing.TB) string {
	t.Helper()
	return filepath.Join(filepath.Dir(hoistBinary(t)), "subscriber")
}

// writeFile writes a test's file, failing the test when it cannot.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// canonical re-encodes event lines so that insignificant whitespace does
// not matter.
func canonical(t *testing.T, lines string) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(lines) {
		env, err := event.UnmarshalJSON([]byte(line))
		if err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		js, _ := event.MarshalJSON(env)
		out = append(out, string(js))
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
