package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
	"github.com/hoist-dev/hoist/pkg/client"
)

func freePort(t testing.TB) int {
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

// TestEventAPIDuringRun runs hoist with --rpc-port and reads its events
// with a Go client that connects mid-run, with grpcurl and over plain HTTP.
func TestEventAPIDuringRun(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	grpcurl := testutil.Tool(t, "grpcurl")
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cfg := filepath.Join(testutil.Root(t), "examples", "getting-started", "skaffold.yaml")
	done := make(chan result, 1)
	go func() {
		done <- run(t, t.Context(), "run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns,
			"--cache-artifacts=false", "--rpc-port", strconv.Itoa(port), "--wait-for-connection", "--rpc-linger", "8s")
	}()
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	// The run waits for this first subscriber, which connects as soon as
	// the server listens.
	var got []*pb.Envelope
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = c.Events(t.Context(), &pb.EventsRequest{AfterSequence: 0}, func(env *pb.Envelope) error {
			got = append(got, env)
			return nil
		})
		if err == nil || len(got) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connecting to the Event API: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("the Event API streamed no events")
	}
	for i, e := range got {
		if e.Event.Sequence != uint32(i+1) {
			t.Fatalf("event %d has sequence %d", i, e.Event.Sequence)
		}
	}
	if got[len(got)-1].Event.GetTerminationEvent() == nil {
		t.Fatalf("the stream did not end with the terminationEvent")
	}

	// The run is over and the server lingers: a late client reads it all.
	out, err := exec.Command(grpcurl, "-plaintext", addr, "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hoist.v1alpha2.EventService") {
		t.Errorf("grpcurl list: %v\n%s", err, out)
	}
	out, err = exec.Command(grpcurl, "-plaintext", "-d", `{"after_sequence": 0}`, addr, "hoist.v1alpha2.EventService/Events").CombinedOutput()
	if err != nil || strings.Count(string(out), `"sequence"`) != len(got) {
		t.Errorf("grpcurl Events: %v, %d events, want %d\n%s", err, strings.Count(string(out), `"sequence"`), len(got), out)
	}
	out, err = exec.Command(grpcurl, "-plaintext", addr, "grpc.health.v1.Health/Check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SERVING") {
		t.Errorf("health check: %v\n%s", err, out)
	}
	resp, err := http.Get("http://" + addr + rpc.EventsPath + "?after=0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if _, err := event.UnmarshalJSON(sc.Bytes()); err != nil {
			t.Fatalf("HTTP line %d: %v", n+1, err)
		}
		testutil.ValidateEvent(t, sc.Bytes())
		n++
	}
	if n != len(got) || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("HTTP: %d events (%s), want %d", n, resp.Header.Get("Content-Type"), len(got))
	}
	st, err := c.State(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != pb.Status_SUCCEEDED || len(st.Artifacts) != 1 || st.Deploy.GetStatus() != pb.Status_SUCCEEDED ||
		len(st.Resources) != 1 || st.Resources[0].Status != pb.Status_SUCCEEDED {
		t.Errorf("state = %v", st)
	}
	// hoist events reads the same run.
	ev := run(t, t.Context(), "events", "--address", addr)
	if len(ev.events) != len(got) {
		t.Errorf("hoist events --address printed %d events, want %d", len(ev.events), len(got))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
		}
		if len(r.events) != len(got) {
			t.Errorf("stdout had %d events, the API %d", len(r.events), len(got))
		}
	case <-ctx.Done():
		t.Fatal("the run did not end")
	}
}

func TestEventsCommandCannotConnect(t *testing.T) {
	r := run(t, t.Context(), "events", "--address", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	if r.code != 6 || !strings.Contains(r.stderr, "EVENTS_UNREACHABLE") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestPushToUnreachableCollector(t *testing.T) {
	dead := "127.0.0.1:" + strconv.Itoa(freePort(t))
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
			writeFile(t, cfg, fmt.Appendf(nil, "apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  tagPolicy: {sha256: {}}\n  artifacts:\n  - image: a\n    custom: {buildCommand: 'echo built'}\nevent:\n  rpc:\n    address: %s\n    required: %v\n", dead, required))
			r := run(t, t.Context(), "build", "-f", cfg, "--event-rpc-flush-timeout", "300ms", "--cache-artifacts=false")
			if !required {
				// The collector being down changes nothing but a warning;
				// the build's own result (no local engine here) stands.
				if strings.Contains(r.stderr, "EVENT_RPC") || !strings.Contains(r.stderr, "events were not delivered to "+dead) {
					t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
				}
				return
			}
			if r.code != 6 || !strings.Contains(r.stderr, "EVENT_RPC_UNREACHABLE") {
				t.Errorf("exit %d, want 6 with EVENT_RPC_UNREACHABLE:\n%s", r.code, r.stderr)
			}
			checkRun(t, r.events, pb.Status_FAILED)
		})
	}
}
