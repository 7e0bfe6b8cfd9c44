package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// dockerProject writes a docker artifact's context and config.
func dockerProject(t *testing.T, dockerfile string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), []byte(dockerfile))
	writeFile(t, filepath.Join(dir, "hello.txt"), fmt.Appendf(nil, "hello %s %d\n", t.Name(), time.Now().UnixNano()))
	writeFile(t, filepath.Join(dir, "ignored.log"), []byte("not in the context\n"))
	writeFile(t, filepath.Join(dir, ".dockerignore"), []byte("*.log\n"))
	cfg := fmt.Sprintf(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {inputDigest: {}}
  artifacts:
  - image: %s
    docker:
      buildArgs: {BASE: "{{.HOIST_TEST_BASE_IMAGE}}"}
%s`, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), extra)
	path := filepath.Join(dir, "skaffold.yaml")
	writeFile(t, path, []byte(cfg))
	return path
}

const goodDockerfile = "ARG BASE\nFROM ${BASE}\nCOPY hello.txt /hello.txt\nRUN test ! -e /ignored.log && cat /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n"

func TestDockerBuildPushAndCache(t *testing.T) {
	docker := testutil.Docker(t)
	cfg := dockerProject(t, goodDockerfile, "  local: {push: true}\n")
	cacheFile := filepath.Join(t.TempDir(), "cache.json")
	start := time.Now()
	r := run(t, t.Context(), "build", "-f", cfg, "--default-repo", docker.Registry, "--cache-file", cacheFile)
	first := time.Since(start)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	var step1 *pb.BuildEvent
	var lines []string
	for _, e := range r.events {
		if be := e.Event.GetBuildEvent(); be != nil && be.Log != "" {
			lines = append(lines, be.Log)
			if step1 == nil && be.Step != nil {
				step1 = be
			}
		}
	}
	want := &pb.BuildEvent{Image: step1.GetImage(), Status: pb.Status_IN_PROGRESS, Log: "Step 1/5 : ARG BASE",
		Step: &pb.Step{Index: 1, Total: 5, Instruction: "ARG BASE"}}
	if diff := cmp.Diff(want, step1, cmpProto()); diff != "" {
		t.Errorf("first step event (-want +got):\n%s", diff)
	}
	joined := strings.Join(lines, "\n")
	for _, w := range []string{"Step 2/5 : FROM ${BASE}", "hello " + t.Name(), "digest: sha256:"} {
		if !strings.Contains(joined, w) {
			t.Errorf("build output lacks %q:\n%s", w, joined)
		}
	}
	art := r.events[len(r.events)-2].Event.GetBuildEvent().GetArtifact()
	desc, err := remote.Head(must(name.ParseReference(art.GetTag())))
	if err != nil {
		t.Fatal(err)
	}
	if art.Digest != desc.Digest.String() {
		t.Errorf("artifact digest %s, registry has %s", art.Digest, desc.Digest)
	}

	start = time.Now()
	again := run(t, t.Context(), "build", "-f", cfg, "--default-repo", docker.Registry, "--cache-file", cacheFile)
	second := time.Since(start)
	checkRun(t, again.events, pb.Status_SUCCEEDED)
	skipped := again.events[len(again.events)-2].Event.GetBuildEvent()
	if skipped.GetStatus() != pb.Status_SKIPPED || skipped.GetArtifact().GetDigest() != art.Digest {
		t.Errorf("second build = %v, want SKIPPED with digest %s", skipped, art.Digest)
	}
	if len(again.events) != 4 {
		t.Errorf("second build had %d events, want 4", len(again.events))
	}
	t.Logf("first build %v, cached build %v", first, second)
}

func TestDockerBuildLocalDigestIsImageID(t *testing.T) {
	testutil.Docker(t)
	cfg := dockerProject(t, goodDockerfile, "")
	r := run(t, t.Context(), "build", "-f", cfg, "--cache-artifacts=false")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	art := r.events[len(r.events)-2].Event.GetBuildEvent().GetArtifact()
	if !strings.HasPrefix(art.GetDigest(), "sha256:") || strings.Contains(art.GetTag(), "127.0.0.1") {
		t.Errorf("artifact = %v", art)
	}
}

func TestDockerBuildErrors(t *testing.T) {
	docker := testutil.Docker(t)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"pushes are not allowed"}]}`, http.StatusForbidden)
	}))
	t.Cleanup(refusing.Close)
	tests := []struct {
		name, dockerfile, extra string
		args                    []string
		setup                   func(t *testing.T, cfg string)
		code                    fault.Code
		message                 []string
	}{
		{name: "daemon unreachable", dockerfile: goodDockerfile,
			setup: func(t *testing.T, _ string) { t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock") },
			code:  fault.BuildDockerUnreachable, message: []string{"unix:///nonexistent/docker.sock"}},
		{name: "dockerfile missing", dockerfile: goodDockerfile,
			setup: func(t *testing.T, cfg string) {
				if err := os.Remove(filepath.Join(filepath.Dir(cfg), "Dockerfile")); err != nil {
					t.Fatal(err)
				}
			},
			code: fault.BuildDockerfileMissing, message: []string{"Dockerfile", "not found"}},
		{name: "context missing", dockerfile: goodDockerfile,
			setup: func(t *testing.T, cfg string) {
				data, _ := os.ReadFile(cfg)
				writeFile(t, cfg, []byte(strings.Replace(string(data), "    docker:", "    context: gone\n    docker:", 1)))
			},
			code: fault.BuildContextMissing, message: []string{"gone"}},
		{name: "syntax error", dockerfile: "ARG BASE\nFROM ${BASE}\nFORM scratch\n",
			code: fault.BuildDockerfileSyntax, message: []string{"FORM"}},
		{name: "failing run", dockerfile: "ARG BASE\nFROM ${BASE}\nRUN echo about to fail && exit 3\n",
			code: fault.BuildRunFailed, message: []string{"step 3/3", "exit status 3", "about to fail"}},
		{name: "base image not found", dockerfile: "FROM " + docker.Registry + "/no-such-base:1\n",
			code: fault.BuildBaseImageNotFound, message: []string{"no-such-base"}},
		{name: "registry unreachable", dockerfile: goodDockerfile, args: []string{"--push", "--default-repo", "127.0.0.1:1"},
			code: fault.BuildRegistryUnreachable, message: []string{"127.0.0.1:1"}},
		{name: "registry refuses", dockerfile: goodDockerfile,
			args: []string{"--push", "--default-repo", strings.TrimPrefix(refusing.URL, "http://")},
			code: fault.BuildRegistryRefused, message: []string{"refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := dockerProject(t, tt.dockerfile, tt.extra)
			if tt.setup != nil {
				tt.setup(t, cfg)
			}
			args := append([]string{"build", "-f", cfg, "--cache-artifacts=false"}, tt.args...)
			r := run(t, t.Context(), args...)
			failed := checkFailure(t, r, fault.ExitBuild, tt.code, tt.message)
			if failed.GetBuildEvent().GetStatus() != pb.Status_FAILED {
				t.Errorf("the failing event is %v, want a FAILED buildEvent", failed)
			}
		})
	}
}

func TestDockerBuildkitSteps(t *testing.T) {
	testutil.Docker(t)
	extra := "  local: {useBuildkit: true}\n"
	cfg := dockerProject(t, goodDockerfile, extra)
	data, _ := os.ReadFile(cfg)
	writeFile(t, cfg, []byte(strings.Replace(string(data), "    docker:\n", "    docker:\n      network: host\n", 1)))
	r := run(t, t.Context(), "build", "-f", cfg, "--cache-artifacts=false")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	var steps []string
	var logs []string
	for _, e := range r.events {
		be := e.Event.GetBuildEvent()
		if be.GetStep() != nil {
			steps = append(steps, fmt.Sprintf("%d/%d %s", be.Step.Index, be.Step.Total, strings.Fields(be.Step.Instruction)[0]))
		}
		logs = append(logs, be.GetLog())
	}
	if diff := cmp.Diff([]string{"1/3 FROM", "2/3 COPY", "3/3 RUN"}, steps); diff != "" {
		t.Errorf("BuildKit steps (-want +got):\n%s", diff)
	}
	if !strings.Contains(strings.Join(logs, "\n"), "hello "+t.Name()) {
		t.Errorf("the RUN step's output is missing:\n%s", strings.Join(logs, "\n"))
	}

	failing := dockerProject(t, "ARG BASE\nFROM ${BASE}\nRUN echo about to fail && exit 4\n", extra)
	data, _ = os.ReadFile(failing)
	writeFile(t, failing, []byte(strings.Replace(string(data), "    docker:\n", "    docker:\n      network: host\n", 1)))
	r = run(t, t.Context(), "build", "-f", failing, "--cache-artifacts=false")
	failed := r.events[len(r.events)-2].Event.GetBuildEvent()
	if failed.GetError().GetCode() != string(fault.BuildRunFailed) || !strings.Contains(failed.Error.Message, "exit status 4") ||
		!strings.Contains(failed.Error.Message, "about to fail") {
		t.Errorf("failing BuildKit RUN: %v", failed)
	}
}

func TestDockerBuildCanceled(t *testing.T) {
	testutil.Docker(t)
	cfg := dockerProject(t, "ARG BASE\nFROM ${BASE}\nRUN echo sleeping && sleep 60\n", "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(4*time.Second, cancel)
	start := time.Now()
	r := run(t, ctx, "build", "-f", cfg, "--cache-artifacts=false")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("cancel took %v", took)
	}
	if r.code != fault.ExitCanceled {
		t.Fatalf("exit %d, want %d\n%s", r.code, fault.ExitCanceled, r.stderr)
	}
	checkRun(t, r.events, pb.Status_CANCELED)
	if st := r.events[len(r.events)-2].Event.GetBuildEvent().GetStatus(); st != pb.Status_CANCELED {
		t.Errorf("build ended %s, want CANCELED", st)
	}
}

// checkFailure checks a failed run: its exit code, that it ends like every
// run, and that the event before the terminationEvent is FAILED with code,
// a message that mentions each of messages and a suggestion. It returns
// that event.
func checkFailure(t *testing.T, r result, exit int, code fault.Code, messages []string) *pb.Event {
	t.Helper()
	if r.code != exit {
		t.Fatalf("exit %d, want %d\n%s", r.code, exit, r.stderr)
	}
	checkRun(t, r.events, pb.Status_FAILED)
	failed := r.events[len(r.events)-2].Event
	if event.StatusOf(failed) != pb.Status_FAILED || errorOf(failed).GetCode() != string(code) {
		t.Fatalf("event = %v, want FAILED %s", failed, code)
	}
	e := errorOf(failed)
	for _, m := range messages {
		if !strings.Contains(e.Message, m) {
			t.Errorf("message %q lacks %q", e.Message, m)
		}
	}
	if len(e.Suggestions) == 0 {
		t.Error("no suggestion")
	}
	if strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("stack trace:\n%s", r.stderr)
	}
	return failed
}

func errorOf(ev *pb.Event) *pb.Error {
	if be := ev.GetBuildEvent(); be != nil {
		return be.Error
	}
	if sc := ev.GetStatusCheckEvent(); sc != nil {
		return sc.Error
	}
	if re := ev.GetRenderEvent(); re != nil {
		return re.Error
	}
	return ev.GetDeployEvent().GetError()
}

// addHost, pullParent and cacheFrom reach the engine: the RUN step sees
// the added host, the base image is pulled, and a cacheFrom image that
// does not exist is no error.
func TestDockerBuildOptions(t *testing.T) {
	docker := testutil.Docker(t)
	dockerfile := "ARG BASE\nFROM ${BASE}\nRUN grep -q 'hoist-build-host' /etc/hosts\n"
	extra := fmt.Sprintf("      addHost: [\"hoist-build-host:127.0.0.1\"]\n      pullParent: true\n      cacheFrom: [\"%s/hoist-no-cache:none\"]\n      network: host\n", docker.Registry)
	// The artifact's docker section is the last thing dockerProject writes.
	cfg := dockerProject(t, dockerfile, "")
	writeFile(t, cfg, []byte(strings.Replace(readFile(cfg), "      buildArgs:", extra+"      buildArgs:", 1)))
	r := run(t, t.Context(), "build", "-f", cfg, "--cache-artifacts=false")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stderr, readFile(cfg))
	}
}

// With useDockerCLI the docker command builds, with cliFlags: here a
// label, read back from the engine.
func TestDockerBuildWithTheCLI(t *testing.T) {
	testutil.Docker(t)
	cfg := dockerProject(t, goodDockerfile, "  local: {useDockerCLI: true}\n")
	writeFile(t, cfg, []byte(strings.Replace(readFile(cfg), "      buildArgs:", "      network: host\n      cliFlags: [--label, built-by=hoist-cli]\n      buildArgs:", 1)))
	r := run(t, t.Context(), "build", "-f", cfg, "--cache-artifacts=false")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	art := r.events[len(r.events)-2].Event.GetBuildEvent().GetArtifact()
	out, err := exec.CommandContext(t.Context(), "docker", "image", "inspect", "-f", `{{index .Config.Labels "built-by"}}`, art.GetTag()).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hoist-cli" {
		t.Errorf("the image's label: %q %v", out, err)
	}
	var sawCLI bool
	for _, e := range r.events {
		if strings.Contains(e.Event.GetBuildEvent().GetLog(), "Successfully tagged") {
			sawCLI = true
		}
	}
	if !sawCLI {
		t.Error("no docker build output in the build log")
	}
}

// tryImportMissing: a cached local image the engine lost comes back from
// the registry of its tag instead of being built again.
func TestDockerTryImportMissing(t *testing.T) {
	docker := testutil.Docker(t)
	cfg := dockerProject(t, goodDockerfile, "  local: {tryImportMissing: true}\n")
	writeFile(t, cfg, []byte(strings.Replace(readFile(cfg), "      buildArgs:", "      network: host\n      buildArgs:", 1)))
	cacheFile := filepath.Join(t.TempDir(), "cache.json")
	build := func() result {
		return run(t, t.Context(), "build", "-f", cfg, "--default-repo", docker.Registry, "--cache-file", cacheFile)
	}
	r := build()
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	art := r.events[len(r.events)-2].Event.GetBuildEvent().GetArtifact()
	for _, args := range [][]string{{"push", art.Tag}, {"image", "rm", "-f", art.Digest}} {
		if out, err := exec.CommandContext(t.Context(), "docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	again := build()
	got := again.events[len(again.events)-2].Event.GetBuildEvent()
	if again.code != 0 || got.GetStatus() != pb.Status_SKIPPED || got.GetArtifact().GetDigest() != art.Digest {
		t.Errorf("after the engine lost the image: exit %d, %v\n%s", again.code, got, again.stderr)
	}
}
