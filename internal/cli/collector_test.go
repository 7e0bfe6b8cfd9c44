package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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
	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// collectorProc is a hoist collector started as its own process, so that
// a test can kill it with SIGKILL.
type collectorProc struct {
	t     testing.TB
	addr  string
	args  []string
	cmd   *exec.Cmd
	log   *bytes.Buffer
	token string
	// base is the collector's URL; ca verifies it when it serves TLS.
	base, ca string
}

func startCollector(t testing.TB, store string, extra ...string) *collectorProc {
	t.Helper()
	c := &collectorProc{t: t, addr: "127.0.0.1:" + strconv.Itoa(freePort(t)),
		args: append([]string{"collector", "--store", store}, extra...)}
	c.base = "http://" + c.addr
	for i, a := range extra {
		switch {
		case i+1 >= len(extra):
		case a == "--token":
			c.token = extra[i+1]
		case a == "--tls-cert":
			c.base, c.ca = "https://"+c.addr, extra[i+1]
		}
	}
	c.start()
	t.Cleanup(c.stop)
	return c
}

func (c *collectorProc) start() {
	c.t.Helper()
	c.log = &bytes.Buffer{}
	c.cmd = exec.Command(hoistBinary(c.t), append(c.args, "--listen", c.addr)...)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: c.base, CAFile: c.ca})
	if err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", c.base+"/v1alpha2/runs", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close() // only the status matters
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the collector did not come up: %v\n%s", err, c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the collector with SIGKILL: no shutdown, no last commit.
func (c *collectorProc) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL) // if it died already, Wait reaps it all the same
	_ = c.cmd.Wait()                          // killed: its exit status says only that
}

// stop ends the collector with SIGTERM, as a service manager would; one
// that does not stop in time has its goroutines dumped into the test log.
func (c *collectorProc) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM) // if it died already, Wait reaps it all the same
	exited := make(chan struct{})
	go func() {
		_ = c.cmd.Wait() // how it stopped is not what these tests check
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGQUIT) // a dump for the log; it may have just exited
		<-exited
		c.t.Errorf("the collector did not stop within 15s of SIGTERM:\n%s", c.log)
	}
}

func (c *collectorProc) client() hoistv1alpha2connect.CollectorServiceClient {
	hc, _ := rpc.NewHTTPClient(rpc.ClientOptions{Address: c.base, CAFile: c.ca})
	return hoistv1alpha2connect.NewCollectorServiceClient(hc, c.base, rpc.ClientOpts(rpc.ClientOptions{Token: c.token})...)
}

// storedLines returns a run's stored events as hoist events prints them.
func (c *collectorProc) storedLines(t *testing.T, id string) string {
	t.Helper()
	r := run(t, t.Context(), "events", "--address", c.base, "--run", id, "--token", c.token, "--ca", c.ca)
	if r.code != 0 {
		t.Fatalf("hoist events --address %s --run %s: exit %d\n%s", c.addr, id, r.code, r.stderr)
	}
	return r.stdout
}

// hoistProc starts hoist as a process; wait returns its exit code and
// output.
func hoistProc(t *testing.T, env []string, args ...string) (wait func() (int, string)) {
	cmd := exec.Command(hoistBinary(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() (int, string) {
		_ = cmd.Wait() // the exit code tells
		return cmd.ProcessState.ExitCode(), out.String()
	}
}

// hoistRun starts `hoist run` of the example as a process that pushes to
// addr and writes its event log file.
func hoistRun(t *testing.T, docker *testutil.DockerEnv, ns, addr, logFile string, extra ...string) (wait func() (int, string)) {
	cfg := filepath.Join(testutil.Root(t), "examples", "getting-started", "skaffold.yaml")
	return hoistProc(t, []string{"HOIST_TEST_BASE_IMAGE=" + docker.BaseImage}, append([]string{"run", "-f", cfg,
		"--default-repo", docker.Registry, "-n", ns, "--cache-artifacts=false", "--event-rpc-address", addr,
		"--event-rpc-flush-timeout", "60s", "--event-log-file", logFile, "--event-format", "text"}, extra...)...)
}

// TestCollectorTwoConcurrentRuns pushes two runs of the example at once
// to one collector, which lists both and stores each exactly as its event
// log file has it.
func TestCollectorTwoConcurrentRuns(t *testing.T) {
	docker, kube := testutil.Docker(t), testutil.Kubernetes(t)
	c := startCollector(t, filepath.Join(t.TempDir(), "collector.db"), "--token", "t0ken")
	logs := []string{filepath.Join(t.TempDir(), "a.jsonl"), filepath.Join(t.TempDir(), "b.jsonl")}
	var wg sync.WaitGroup
	for _, lf := range logs {
		_, ns := namespace(t, kube)
		wait := hoistRun(t, docker, ns, c.addr, lf, "--event-rpc-token", "t0ken")
		wg.Go(func() {
			if code, out := wait(); code != 0 {
				t.Errorf("hoist run: exit %d\n%s", code, out)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	runs, err := c.client().ListRuns(t.Context(), connect.NewRequest(&pb.ListRunsRequest{Command: "run", Image: "getting-started"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs.Msg.Runs) != 2 {
		t.Fatalf("ListRuns: %d runs, want 2: %v", len(runs.Msg.Runs), runs.Msg)
	}
	for _, lf := range logs {
		file := readFile(lf)
		id := runIDOf(t, file)
		if diff := cmp.Diff(canonical(t, file), canonical(t, c.storedLines(t, id))); diff != "" {
			t.Errorf("run %s: stored events differ from its event log file (-file +stored):\n%s", id, diff)
		}
		var found bool
		for _, r := range runs.Msg.Runs {
			found = found || (r.EventId == id && r.Status == pb.Status_SUCCEEDED)
		}
		if !found {
			t.Errorf("run %s is not listed as SUCCEEDED: %v", id, runs.Msg.Runs)
		}
	}
}

// runIDOf returns the run id of an event log file.
func runIDOf(t *testing.T, file string) string {
	t.Helper()
	first, _, _ := strings.Cut(file, "\n")
	env, err := event.UnmarshalJSON([]byte(first))
	if err != nil {
		t.Fatalf("the event log file's first line: %v", err)
	}
	return env.EventId
}

// TestCollectorSurvivesSIGKILL kills the collector twice while a build
// pushes to it, each time mid-run, and restarts it on the same store: the
// run's pusher resends what was not acknowledged, and the store ends with
// every event once. The build prints a line every 100ms for 6s, so that
// both kills fall inside it however fast the machine is.
func TestCollectorSurvivesSIGKILL(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, store string) {
		c := startCollector(t, store)
		lf := filepath.Join(t.TempDir(), "events.jsonl")
		wait := hoistProc(t, nil, "build", "-f", slowProject(t, 60), "--default-repo", startRegistry(t),
			"--cache-artifacts=false", "--event-rpc-address", c.addr, "--event-rpc-flush-timeout", "60s",
			"--event-log-file", lf, "--event-format", "text")
		for _, at := range []uint32{5, 20} {
			waitStored(t, c, at)
			c.kill()
			time.Sleep(300 * time.Millisecond)
			c.start()
		}
		if code, out := wait(); code != 0 {
			t.Fatalf("hoist build: exit %d\n%s", code, out)
		}
		file := readFile(lf)
		id := runIDOf(t, file)
		if diff := cmp.Diff(canonical(t, file), canonical(t, c.storedLines(t, id))); diff != "" {
			t.Errorf("stored events differ from the event log file (-file +stored):\n%s", diff)
		}
	})
}

// waitStored waits until the collector holds a run with at least n events,
// still in progress.
func waitStored(t *testing.T, c *collectorProc, n uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		runs, err := c.client().ListRuns(ctx, connect.NewRequest(&pb.ListRunsRequest{}))
		if err == nil && len(runs.Msg.Runs) > 0 && runs.Msg.Runs[0].LastSequence >= n {
			if runs.Msg.Runs[0].Status != pb.Status_IN_PROGRESS {
				t.Fatalf("the run ended before the collector was killed at event %d", n)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the collector never held %d events of the run\n%s", n, fmt.Sprint(c.log))
}

// TestCollectorTLSAndToken serves TLS with a token: a run pushes over
// https with the CA and token, hoist events reads it back, and requests
// without the token or the CA are refused.
func TestCollectorTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	c := startCollector(t, filepath.Join(dir, "collector.db"), "--token", "tls-t0ken", "--tls-cert", cert, "--tls-key", key)
	reg := startRegistry(t)
	cfg := project(t, "  local:\n    push: true\n", "app")
	r := run(t, t.Context(), "build", "-f", cfg, "--default-repo", reg, "--cache-artifacts=false",
		"--event-rpc-address", c.base, "--event-rpc-ca", cert, "--event-rpc-token", "tls-t0ken", "--event-log-file", filepath.Join(dir, "events.jsonl"))
	if r.code != 0 {
		t.Fatalf("hoist build: exit %d\n%s", r.code, r.stderr)
	}
	id := r.events[0].EventId
	if diff := cmp.Diff(canonical(t, r.stdout), canonical(t, c.storedLines(t, id))); diff != "" {
		t.Errorf("stored events differ from the run's (-run +stored):\n%s", diff)
	}
	noToken := run(t, t.Context(), "events", "--address", c.base, "--run", id, "--ca", cert, "--token", "")
	if noToken.code == 0 || !strings.Contains(noToken.stderr, "EVENTS_UNAUTHENTICATED") || !strings.Contains(noToken.stderr, "--token") {
		t.Errorf("hoist events without the token: exit %d\n%s", noToken.code, noToken.stderr)
	}
	unknown := run(t, t.Context(), "events", "--address", c.base, "--run", "no-such-run", "--ca", cert, "--token", "tls-t0ken")
	if unknown.code == 0 || !strings.Contains(unknown.stderr, "EVENTS_RUN_NOT_FOUND") {
		t.Errorf("hoist events --run of an unknown run: exit %d\n%s", unknown.code, unknown.stderr)
	}
	noCA := run(t, t.Context(), "events", "--address", c.base, "--run", id, "--token", "tls-t0ken")
	if noCA.code == 0 {
		t.Errorf("hoist events without the CA: exit 0")
	}
}

func TestCollectorRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--retain", "soon"},
		{"--retain", "-3d"},
		{"--tls-cert", "cert.pem"},
		{"--max-runs", "-1"},
		{"--store", "mysql://db/hoist"},
	} {
		r := run(t, t.Context(), append([]string{"collector", "--listen", "127.0.0.1:0", "--store", filepath.Join(t.TempDir(), "c.db")}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "error") {
			t.Errorf("hoist collector %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

func writeSelfSigned(t *testing.T, certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hoist collector test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}
