package cli_test

import (
	"bufio"
	"bytes"
	"fmt"
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

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/emptypb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/api/skaffold/v2/skaffoldv2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// ideProject copies examples/getting-started for an IDE's command line,
// which names neither a registry nor a namespace: the copy deploys to ns
// (deploy.kubectl.defaultNamespace), tags by inputs (it is in no git
// repository) and forwards to a free port; SKAFFOLD_DEFAULT_REPO, which
// hoist reads as Skaffold does, names the registry.
func ideProject(t *testing.T, docker *testutil.DockerEnv, ns string) (dir string, env []string) {
	t.Helper()
	dir = t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(testutil.Root(t), "examples", "getting-started")+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "skaffold.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("build:\n"), []byte("build:\n  tagPolicy:\n    inputDigest: {}\n"), 1)
	data = bytes.Replace(data, []byte("  kubectl:\n"), fmt.Appendf(nil, "  kubectl:\n    defaultNamespace: %s\n", ns), 1)
	data = bytes.ReplaceAll(data, []byte("localPort: 9000"), fmt.Appendf(nil, "localPort: %d", freePort(t)))
	writeFile(t, cfg, data)
	return dir, append(os.Environ(), "SKAFFOLD_DEFAULT_REPO="+docker.Registry)
}

// ideSession is hoist started with an IDE's command line.
type ideSession struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
}

func startIDE(t *testing.T, dir string, env []string, args ...string) *ideSession {
	t.Helper()
	s := &ideSession{cmd: exec.Command(hoistBinary(t), args...), stderr: &lockedBuffer{}}
	s.cmd.Dir, s.cmd.Env, s.cmd.Stderr = dir, env, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill() // left running by a failed test
			_ = s.cmd.Wait()
		}
	})
	return s
}

// interrupt sends SIGINT, as an IDE stops a session, and returns the exit
// code.
func (s *ideSession) interrupt(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = s.cmd.Wait() // the exit code tells
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatalf("hoist dev did not stop on SIGINT\n%s", s.stderr)
	}
	return s.cmd.ProcessState.ExitCode()
}

// v2Reader reads a stream of v2 events and tells when one matches.
type v2Reader struct {
	mu   sync.Mutex
	evs  []*skaffoldv2.Event
	err  error
	done chan struct{}
}

func (r *v2Reader) add(ev *skaffoldv2.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

// waitFor waits until an event that describes as want has come.
func (r *v2Reader) waitFor(t *testing.T, s *ideSession, want string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r.mu.Lock()
		for _, ev := range r.evs {
			if te := ev.GetTaskEvent(); te != nil && te.Id+" "+te.Status == want {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
	}
	t.Fatalf("no taskEvent %s within %v\n%s", want, timeout, s.stderr)
}

// ended waits for the stream's end and returns its events.
func (r *v2Reader) ended(t *testing.T) []*skaffoldv2.Event {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(time.Minute):
		t.Fatal("the stream did not end with the run")
	}
	if r.err != nil {
		t.Errorf("the stream ended with %v", r.err)
	}
	return r.evs
}

// TestCloudCodeCommandLine runs the command line Cloud Code for VS Code
// runs, unchanged apart from the binary's name: it starts, waits for the
// IDE's /v2/events, serves the session there, and ends cleanly on SIGINT,
// the stream with it.
func TestCloudCodeCommandLine(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	dir, env := ideProject(t, docker, ns)
	port := freePort(t)
	s := startIDE(t, dir, env, "dev", "-v", "info", "--port-forward", "--auto-build", "--auto-deploy", "--auto-sync",
		"--rpc-http-port", strconv.Itoa(port), "--filename", "skaffold.yaml", "--wait-for-deletions-max", "2m0s", "--wait-for-connection")
	servedOn(t, s.stderr, "Skaffold's HTTP API")

	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/v2/events")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := &v2Reader{done: make(chan struct{})}
	var errLines []string
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			result, ok := strings.CutPrefix(line, `{"result":`)
			if !ok {
				errLines = append(errLines, line)
				continue
			}
			ev := &skaffoldv2.Event{}
			if err := protojson.Unmarshal([]byte(strings.TrimSuffix(result, "}")), ev); err != nil {
				r.err = fmt.Errorf("line %q: %w", line, err)
				return
			}
			r.add(ev)
		}
		r.err = sc.Err()
	}()
	r.waitFor(t, s, "DevLoop-1 Succeeded", 3*time.Minute)
	r.waitFor(t, s, "PortForward-1 Succeeded", time.Minute)

	if code := s.interrupt(t); code != 0 {
		t.Errorf("hoist dev exited %d on SIGINT, want 0\n%s", code, s.stderr)
	}
	evs := r.ended(t)
	if len(errLines) != 0 {
		t.Errorf("/v2/events had lines that are not results: %v", errLines)
	}
	if last := evs[len(evs)-1].GetTerminationEvent(); last.GetStatus() != "Completed" {
		t.Errorf("/v2/events ended with %v, want the terminationEvent Completed", evs[len(evs)-1])
	}
}

// TestIntelliJCommandLine runs the command line Cloud Code for IntelliJ
// runs: gRPC on --rpc-port, with --enable-rpc=true, --port-forward=true
// and --label ide=idea, which the deployed objects carry.
func TestIntelliJCommandLine(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	dir, env := ideProject(t, docker, ns)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := startIDE(t, dir, env, "dev", "--rpc-port", strconv.Itoa(port), "--port-forward=true", "--enable-rpc=true", "--label", "ide=idea")
	servedOn(t, s.stderr, "the Event API")

	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	v2 := skaffoldv2connect.NewSkaffoldV2ServiceClient(hc, rpc.BaseURL(addr), connect.WithGRPC())
	stream, err := v2.Events(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	r := &v2Reader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for stream.Receive() {
			r.add(stream.Msg())
		}
		r.err = stream.Err()
	}()
	r.waitFor(t, s, "DevLoop-1 Succeeded", 3*time.Minute)

	dep, err := client.AppsV1().Deployments(ns).Get(t.Context(), "getting-started", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Labels["ide"] != "idea" || dep.Spec.Template.Labels["ide"] != "idea" {
		t.Errorf("the Deployment's labels %v and its pods' %v, want ide=idea on both", dep.Labels, dep.Spec.Template.Labels)
	}
	st, err := v2.GetState(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Msg.GetForwardedPorts()) == 0 {
		r.waitFor(t, s, "PortForward-1 Succeeded", time.Minute)
		if st, err = v2.GetState(t.Context(), connect.NewRequest(&emptypb.Empty{})); err != nil || len(st.Msg.GetForwardedPorts()) != 1 {
			t.Errorf("GetState: forwardedPorts %v, %v; want the example's", st.Msg.GetForwardedPorts(), err)
		}
	}

	if code := s.interrupt(t); code != 0 {
		t.Errorf("hoist dev exited %d on SIGINT, want 0\n%s", code, s.stderr)
	}
	evs := r.ended(t)
	if last := evs[len(evs)-1].GetTerminationEvent(); last.GetStatus() != "Completed" {
		t.Errorf("v2 Events ended with %v, want the terminationEvent Completed", evs[len(evs)-1])
	}
}
