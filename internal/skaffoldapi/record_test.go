package skaffoldapi

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

var record = flag.Bool("record", false, "record testdata/hoist_dev.jsonl by running hoist dev on the test environment")

// TestRecordDev records testdata/hoist_dev.jsonl, hoist's events of the
// scenario of the golden files: hoist dev --auto-build=false on a copy of
// examples/getting-started, an edit of a page that syncs, an edit of
// app/serve.sh that a ControlService Execute(build) rebuilds and
// redeploys, and Ctrl-C. Run it on the test environment with
//
//	go test ./internal/skaffoldapi -run TestRecordDev -record
func TestRecordDev(t *testing.T) {
	if !*record {
		t.Skip("records testdata/hoist_dev.jsonl when run with -record")
	}
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
	// The copy is in no git repository: tag by inputs. The forward gets a
	// free port.
	data = bytes.Replace(data, []byte("build:\n"), []byte("build:\n  tagPolicy:\n    inputDigest: {}\n"), 1)
	data = bytes.ReplaceAll(data, []byte("localPort: 9000"), fmt.Appendf(nil, "localPort: %d", freePort(t)))
	writeFile(t, cfg, string(data))

	ns := fmt.Sprintf("skaffold-api-%d", time.Now().UnixNano()%1_000_000)
	if out, err := exec.Command("kubectl", "create", "namespace", ns).CombinedOutput(); err != nil {
		t.Fatalf("creating namespace %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("kubectl", "delete", "namespace", ns, "--wait=false").Run() })

	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "hoist"), "dev", "-f", cfg, "--default-repo", docker.Registry, "-n", ns,
		"--event-log-file", logFile, "--cache-file", filepath.Join(t.TempDir(), "cache.json"),
		"--rpc-port", strings.TrimPrefix(addr, "127.0.0.1:"), "--auto-build=false", "--debounce", "300ms")
	cmd.Dir, cmd.Stderr = dir, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	events := func() []*pb.Envelope { return testutil.EventLog(t, logFile) }
	// waitFor waits until done holds of the events.
	waitFor := func(what string, timeout time.Duration, done func([]*pb.Envelope) bool) {
		t.Helper()
		for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if done(events()) {
				return
			}
		}
		t.Fatalf("%s: not within %v\n%s", what, timeout, stderr.String())
	}
	// ended tells whether iteration n succeeded, after reporting a port
	// forward when forward is set.
	ended := func(n uint32, forward bool) func([]*pb.Envelope) bool {
		return func(envs []*pb.Envelope) bool {
			started, succeeded, forwarded := false, false, !forward
			for _, env := range envs {
				if dl := env.GetEvent().GetDevLoopEvent(); dl.GetIteration() == n {
					started = true
					if dl.Status == pb.Status_FAILED {
						t.Fatalf("iteration %d failed: %v\n%s", n, dl, stderr.String())
					}
					if dl.Status == pb.Status_SUCCEEDED {
						if !forwarded {
							t.Fatalf("iteration %d ended before its port forward was reported\n%s", n, stderr.String())
						}
						succeeded = true
					}
				}
				if started && !succeeded && env.GetEvent().GetPortEvent() != nil {
					forwarded = true
				}
			}
			return succeeded
		}
	}

	waitFor("the first iteration and its port forward", 3*time.Minute, ended(1, true))
	writeFile(t, filepath.Join(dir, "app/www/index.html"), "<h1>synced</h1>\n")
	waitFor("the sync", time.Minute, ended(2, false))

	serve, err := os.ReadFile(filepath.Join(dir, "app/serve.sh"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "app/serve.sh"), string(serve)+"# edited\n")
	// With auto-build off, the edit waits for Execute.
	time.Sleep(2 * time.Second)
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	ctrl := hoistv1alpha2connect.NewControlServiceClient(hc, rpc.BaseURL(addr), connect.WithGRPC())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := ctrl.Execute(ctx, connect.NewRequest(&pb.ExecuteRequest{Build: true}))
	if err != nil {
		t.Fatalf("Execute(build): %v", err)
	}
	if resp.Msg.Iteration != 3 {
		t.Fatalf("Execute(build) runs iteration %d, want 3: the edit started one of its own\n%s", resp.Msg.Iteration, stderr.String())
	}
	waitFor("the rebuild and its port forward", 3*time.Minute, ended(3, true))

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hoist dev: %v\n%s", err, stderr.String())
	}
	data, err = os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	// The metaEvent's workingDir is the copy's temporary folder.
	writeFile(t, "testdata/hoist_dev.jsonl", strings.ReplaceAll(string(data), `"`+dir+`"`, `"/src/getting-started"`))
	t.Logf("recorded %d events", len(events()))
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("%v is not a TCP address", ln.Addr())
	}
	return addr.Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
