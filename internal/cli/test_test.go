package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/fault"
)

// tests is the shape of a run's testEvents: image, status, log or error code.
func testShape(r result) []string {
	var out []string
	for _, e := range r.events {
		te := e.Event.GetTestEvent()
		if te == nil {
			continue
		}
		s := te.Image + " " + te.Status.String()
		switch {
		case te.Log != "":
			s += " " + te.Log
		case te.Error != nil:
			s += " " + te.Error.Code
		}
		out = append(out, s)
	}
	return out
}

func TestCustomTestsRunBetweenBuildAndDeploy(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "tested")
	passing := `  local: {push: true}
test:
- image: app
  custom:
  - command: echo "testing $IMAGE in $(basename $TEST_CONTEXT)"; touch ` + marker + `
  - command: echo second
    timeoutSeconds: 10
`
	repo := startRegistry(t)
	r := run(t, t.Context(), "run", "-f", project(t, passing, "app"), "--default-repo", repo)
	// No deployer: the run fails at the deploy, after the tests.
	if r.code != fault.ExitConfig || !strings.Contains(r.stderr, "DEPLOY_NO_DEPLOYER") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	got := testShape(r)
	want := []string{"app IN_PROGRESS", "app IN_PROGRESS testing " + repo + "/app:v1@sha256:", "app IN_PROGRESS second", "app SUCCEEDED"}
	if len(got) != len(want) || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("testEvents = %q, want like %q", got, want)
	}
	var sawTest, deployAfter bool
	for _, e := range r.events {
		if e.Event.GetTestEvent() != nil {
			sawTest = true
		}
		if e.Event.GetDeployEvent() != nil && sawTest {
			deployAfter = true
		}
	}
	if !deployAfter {
		t.Error("the deploy did not come after the tests")
	}

	failing := "  local: {push: true}\ntest:\n- image: app\n  custom:\n  - command: echo 'expected 200, got 500'; exit 4\n"
	r = run(t, t.Context(), "run", "-f", project(t, failing, "app"), "--default-repo", repo)
	if r.code != fault.ExitTest {
		t.Fatalf("a failing test: exit %d, want %d\n%s", r.code, fault.ExitTest, r.stderr)
	}
	checkRun(t, r.events, pb.Status_FAILED)
	for _, e := range r.events {
		if e.Event.GetDeployEvent() != nil {
			t.Error("deployed after a failing test")
		}
	}
	last := r.events[len(r.events)-2].Event.GetTestEvent()
	if last.GetStatus() != pb.Status_FAILED || last.Error.GetCode() != string(fault.TestFailed) ||
		!strings.Contains(last.Error.Message, "exited with status 4; last output: expected 200, got 500") {
		t.Errorf("the failing testEvent: %v", last)
	}
	if r = run(t, t.Context(), "run", "-f", project(t, failing, "app"), "--default-repo", repo, "--skip-tests"); strings.Contains(r.stderr, "TEST_FAILED") {
		t.Errorf("--skip-tests ran the tests:\n%s", r.stderr)
	}

	slow := "test:\n- image: app\n  custom:\n  - {command: 'sleep 30', timeoutSeconds: 1}\n"
	r = run(t, t.Context(), "test", "-f", project(t, slow, "app"), "--images", "app=127.0.0.1:5000/app:v1")
	if r.code != fault.ExitTest || !strings.Contains(r.stderr, "TEST_TIMED_OUT") {
		t.Errorf("hoist test of a test that hangs: exit %d\n%s", r.code, r.stderr)
	}
}

func TestStructureTestsRefusedWhereTheyWouldRun(t *testing.T) {
	cfg := project(t, "  local: {push: true}\ntest:\n- image: app\n  structureTests: [./structure.yaml]\n", "app")
	r := run(t, t.Context(), "run", "-f", cfg, "--default-repo", startRegistry(t))
	if r.code != fault.ExitConfig || !strings.Contains(r.stderr, "container-structure-test files yet") || !strings.Contains(r.stderr, "skaffold.yaml:") {
		t.Errorf("run: exit %d\n%s", r.code, r.stderr)
	}
	if d := runPlain(t.Context(), "diagnose", "-f", cfg); d.code != 0 {
		t.Errorf("diagnose: exit %d\n%s", d.code, d.stderr)
	}
}
