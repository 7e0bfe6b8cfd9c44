package skaffoldapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	"github.com/hoist-dev/hoist/api/skaffold/v1/skaffoldv1connect"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/api/skaffold/v2/skaffoldv2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// lockedBuffer is a process's stderr that the test reads while the
// process writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// collected is what one client stream received, once it has ended.
type collected[E any] struct {
	evs  []E
	err  error
	done chan struct{}
}

func collect[E any](recv func() bool, msg func() E, end func() error) *collected[E] {
	c := &collected[E]{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for recv() {
			c.evs = append(c.evs, msg())
		}
		c.err = end()
	}()
	return c
}

func (c *collected[E]) wait(t *testing.T, what string) []E {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not end", what)
	}
	if c.err != nil {
		t.Errorf("%s ended with %v", what, c.err)
	}
	return c.evs
}

// TestSkaffoldClientsDuringDev runs hoist dev on a copy of
// examples/getting-started with Skaffold's flags and drives the golden
// files' scenario through Skaffold's own API, as an IDE would: Go clients
// built from hoist's .proto files, v1 and v2 over gRPC, and /v2/events
// over the HTTP gateway, connected from the start, see the page synced
// and an Execute(build) rebuild, and GetState has the forwarded port. The
// events each saw, and the Skaffold event log files, are the sequences
// Skaffold sends for that scenario (testdata/skaffold_dev_v*.golden).
func TestSkaffoldClientsDuringDev(t *testing.T) {
	docker := testutil.Docker(t)
	testutil.Kubernetes(t)
	root := testutil.Root(t)

	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", "github.com/hoist-dev/hoist/cmd/hoist",
		"github.com/hoist-dev/hoist/cmd/hoist-render").CombinedOutput(); err != nil {
		t.Fatalf("building hoist: %v\n%s", err, out)
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(root, "examples", "getting-started")+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "skaffold.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	forward := freePort(t)
	data = bytes.Replace(data, []byte("build:\n"), []byte("build:\n  tagPolicy:\n    inputDigest: {}\n"), 1)
	data = bytes.ReplaceAll(data, []byte("localPort: 9000"), fmt.Appendf(nil, "localPort: %d", forward))
	writeFile(t, cfg, string(data))

	ns := fmt.Sprintf("skaffold-clients-%d", time.Now().UnixNano()%1_000_000)
	if out, err := exec.Command("kubectl", "create", "namespace", ns).CombinedOutput(); err != nil {
		t.Fatalf("creating namespace %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("kubectl", "delete", "namespace", ns, "--wait=false").Run() })

	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	skaffoldLog := filepath.Join(t.TempDir(), "skaffold-events.json")
	rpcPort, httpPort := freePort(t), freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(rpcPort)
	gw := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	stderr := &lockedBuffer{}
	// Cloud Code's flags, with the scenario's --auto-build=false.
	cmd := exec.Command(filepath.Join(bin, "hoist"), "dev", "-v", "info", "--port-forward", "--auto-build=false", "--auto-deploy", "--auto-sync",
		"--rpc-port", strconv.Itoa(rpcPort), "--rpc-http-port", strconv.Itoa(httpPort), "--filename", cfg, "--wait-for-connection",
		"--default-repo", docker.Registry, "-n", ns, "--event-log-file", logFile, "--skaffold-event-log-file", skaffoldLog,
		"--cache-file", filepath.Join(t.TempDir(), "cache.json"), "--debounce", "300ms")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	v1 := skaffoldv1connect.NewSkaffoldServiceClient(hc, rpc.BaseURL(addr), connect.WithGRPC())
	v2 := skaffoldv2connect.NewSkaffoldV2ServiceClient(hc, rpc.BaseURL(addr), connect.WithGRPC())
	ctx := t.Context()

	// The v2 client connects first, once hoist listens: the run waits for it.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(stderr.String(), "serving Skaffold's HTTP API"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hoist does not serve Skaffold's API\n%s", stderr)
		}
	}
	v2Stream, err := v2.Events(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	v2Events := collect(v2Stream.Receive, v2Stream.Msg, v2Stream.Err)
	v1Stream, err := v1.Events(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	v1Events := collect(v1Stream.Receive, v1Stream.Msg, v1Stream.Err)
	resp, err := http.Get(gw + "/v2/events")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, 1<<20)
	gwEvents := collect(lines.Scan, func() string { return lines.Text() }, lines.Err)

	events := func() []*pb.Envelope { return testutil.EventLog(t, logFile) }
	waitFor := func(what string, timeout time.Duration, done func([]*pb.Envelope) bool) {
		t.Helper()
		for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if done(events()) {
				return
			}
		}
		t.Fatalf("%s: not within %v\n%s", what, timeout, stderr)
	}
	// ended tells whether iteration n succeeded and a port forward was
	// reported after it started.
	ended := func(n uint32, forward bool) func([]*pb.Envelope) bool {
		return func(envs []*pb.Envelope) bool {
			started, succeeded, forwarded := false, false, !forward
			for _, env := range envs {
				if dl := env.GetEvent().GetDevLoopEvent(); dl.GetIteration() == n {
					started = true
					if dl.Status == pb.Status_FAILED {
						t.Fatalf("iteration %d failed: %v\n%s", n, dl, stderr)
					}
					succeeded = succeeded || dl.Status == pb.Status_SUCCEEDED
				}
				if started && env.GetEvent().GetPortEvent() != nil {
					forwarded = true
				}
			}
			return succeeded && forwarded
		}
	}

	waitFor("the first iteration and its port forward", 3*time.Minute, ended(1, true))
	// GetState has the forwarded port, on both versions.
	st2, err := v2.GetState(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	if pe := st2.Msg.GetForwardedPorts()[int32(forward)]; pe.GetResourceName() != "getting-started" || pe.GetResourceType() != "service" {
		t.Errorf("v2 GetState: forwardedPorts %v, want the service on %d", st2.Msg.GetForwardedPorts(), forward)
	}
	if b := st2.Msg.GetBuildState(); b.GetArtifacts()["getting-started"] != "Complete" && b.GetArtifacts()["getting-started"] != "Succeeded" || b.GetAutoTrigger() {
		t.Errorf("v2 GetState: buildState %v, want the artifact built and auto-build off", b)
	}
	state1, err := http.Get(gw + "/v1/state")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(state1.Body)
	_ = state1.Body.Close()
	var st1 skaffoldv1.State
	if err := protojson.Unmarshal(body, &st1); err != nil {
		t.Fatalf("GET /v1/state: %v\n%s", err, body)
	}
	if pe := st1.GetForwardedPorts()[int32(forward)]; pe.GetLocalPort() != int32(forward) {
		t.Errorf("GET /v1/state: forwardedPorts %v, want %d\n%s", st1.GetForwardedPorts(), forward, body)
	}
	// Auto-build is already off.
	_, err = v2.AutoBuild(ctx, connect.NewRequest(&skaffoldv2.TriggerRequest{State: &skaffoldv2.TriggerState{Val: &skaffoldv2.TriggerState_Enabled{}}}))
	if connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Errorf("AutoBuild(false) with auto-build off: %v, want ALREADY_EXISTS", err)
	}

	writeFile(t, filepath.Join(dir, "app/www/index.html"), "<h1>synced</h1>\n")
	waitFor("the sync", time.Minute, ended(2, false))

	serve, err := os.ReadFile(filepath.Join(dir, "app/serve.sh"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "app/serve.sh"), string(serve)+"# edited\n")
	// With auto-build off, the edit waits for Execute, sent as Skaffold's
	// integration tests send it.
	time.Sleep(2 * time.Second)
	if _, err := v1.Execute(ctx, connect.NewRequest(&skaffoldv1.UserIntentRequest{Intent: &skaffoldv1.Intent{Build: true}})); err != nil {
		t.Fatalf("Execute(build): %v", err)
	}
	waitFor("the rebuild and its port forward", 3*time.Minute, ended(3, true))

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hoist dev: %v\n%s", err, stderr)
	}

	// What each client saw is Skaffold's sequence.
	v2Patterns := parsePattern(t, "testdata/skaffold_dev_v2.golden", ns)
	v1Patterns := parsePattern(t, "testdata/skaffold_dev_v1.golden", ns)
	matchV2 := func(what string, evs []*skaffoldv2.Event) {
		t.Helper()
		var got []string
		for _, ev := range evs {
			if !hoistOnlyV2(ev) {
				got = append(got, describeV2(ev))
			}
		}
		if ok, furthest := match(v2Patterns, got); !ok {
			report(t, what, got, furthest)
		}
		if len(evs) == 0 || evs[len(evs)-1].GetTerminationEvent() == nil {
			t.Errorf("%s did not end with the terminationEvent", what)
		}
	}
	matchV1 := func(what string, evs []*skaffoldv1.Event) {
		t.Helper()
		var got []string
		for _, ev := range evs {
			if ev.GetTerminationEvent() == nil {
				got = append(got, describeV1(ev))
			}
		}
		if ok, furthest := match(v1Patterns, got); !ok {
			report(t, what, got, furthest)
		}
	}
	matchV2("v2 Events over gRPC", v2Events.wait(t, "v2 Events"))
	var v1Got []*skaffoldv1.Event
	for _, e := range v1Events.wait(t, "v1 Events") {
		v1Got = append(v1Got, e.GetEvent())
	}
	matchV1("v1 Events over gRPC", v1Got)
	var gwGot []*skaffoldv2.Event
	for _, line := range gwEvents.wait(t, "GET /v2/events") {
		ev := &skaffoldv2.Event{}
		if err := unmarshalResult(line, ev); err != nil {
			t.Fatalf("GET /v2/events: line %q: %v", line, err)
		}
		gwGot = append(gwGot, ev)
	}
	matchV2("GET /v2/events", gwGot)

	// The Skaffold event log files, written as the run went.
	var fileV2 []*skaffoldv2.Event
	for _, line := range fileLines(t, skaffoldLog+".v2") {
		ev := &skaffoldv2.Event{}
		if err := protojson.Unmarshal([]byte(line), ev); err != nil {
			t.Fatalf("%s.v2: %v", skaffoldLog, err)
		}
		fileV2 = append(fileV2, ev)
	}
	matchV2("--skaffold-event-log-file's .v2", fileV2)
	var fileV1 []*skaffoldv1.Event
	for _, line := range fileLines(t, skaffoldLog) {
		e := &skaffoldv1.LogEntry{}
		if err := protojson.Unmarshal([]byte(line), e); err != nil {
			t.Fatalf("%s: %v", skaffoldLog, err)
		}
		fileV1 = append(fileV1, e.GetEvent())
	}
	matchV1("--skaffold-event-log-file", fileV1)
}

// unmarshalResult decodes a gateway line {"result": event} into ev.
func unmarshalResult(line string, ev *skaffoldv2.Event) error {
	const prefix, suffix = `{"result":`, `}`
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, suffix) {
		return errors.New("not a result line")
	}
	return protojson.Unmarshal([]byte(line[len(prefix):len(line)-len(suffix)]), ev)
}

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		if l := strings.TrimSpace(line); l != "" {
			out = append(out, l)
		}
	}
	return out
}
