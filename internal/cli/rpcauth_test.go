package cli_test

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/fault"
)

// TestRPCBindBeyondLoopbackNeedsToken starts each command that serves the
// Event API with a --rpc-bind beyond this machine. Without a token it is
// refused before anything listens, and before the run starts: no event.
// Nothing is bound beyond loopback even where hoist goes on: the port is
// held on 127.0.0.1 by the test, so a listen on 0.0.0.0 fails with
// EVENT_RPC_LISTEN_FAILED, which tells a refusal that came first from one
// that came after trying.
func TestRPCBindBeyondLoopbackNeedsToken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()
	addr, ok := held.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("%v is not a TCP address", held.Addr())
	}
	port := strconv.Itoa(addr.Port)
	cfg := project(t, "", "app")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	for _, tc := range []struct {
		name string
		args []string
		env  string // HOIST_RPC_TOKEN
		code fault.Code
		// stderr holds each of these.
		stderr []string
	}{
		{name: "build on every interface", args: []string{"build", "--rpc-bind", "0.0.0.0"}, code: fault.EventRPCUnprotected,
			stderr: []string{`refusing to serve the Event API on 0.0.0.0:` + port + ` without a token`, "--rpc-token", "HOIST_RPC_TOKEN", "--rpc-bind 127.0.0.1", "--rpc-insecure"}},
		{name: "run on every IPv6 interface", args: []string{"run", "--rpc-bind", "::"}, code: fault.EventRPCUnprotected, stderr: []string{"--rpc-token"}},
		{name: "dev, with its control methods", args: []string{"dev", "--rpc-bind", "0.0.0.0"}, code: fault.EventRPCUnprotected, stderr: []string{"--rpc-token"}},
		{name: "deploy on an interface's address", args: []string{"deploy", "--rpc-bind", "192.0.2.10", "--images", "app=app:v1"}, code: fault.EventRPCUnprotected},
		{name: "test", args: []string{"test", "--rpc-bind", "0.0.0.0", "--images", "app=app:v1"}, code: fault.EventRPCUnprotected},
		{name: "apply", args: []string{"apply", "--rpc-bind", "0.0.0.0", cfg}, code: fault.EventRPCUnprotected},
		{name: "an empty bind is every interface", args: []string{"build", "--rpc-bind", ""}, code: fault.EventRPCUnprotected},
		{name: "TLS is no token", args: []string{"build", "--rpc-bind", "0.0.0.0", "--rpc-tls-cert", cert, "--rpc-tls-key", key}, code: fault.EventRPCUnprotected},

		{name: "with a token it goes on to listen", args: []string{"build", "--rpc-bind", "0.0.0.0", "--rpc-token", "t0ken"}, code: fault.EventRPCListen,
			stderr: []string{"without TLS: tokens and events cross the network in clear"}},
		{name: "the token from HOIST_RPC_TOKEN", args: []string{"run", "--rpc-bind", "0.0.0.0"}, env: "t0ken", code: fault.EventRPCListen},
		{name: "--rpc-insecure goes on, with warnings", args: []string{"dev", "--rpc-bind", "0.0.0.0", "--rpc-insecure"}, code: fault.EventRPCListen,
			stderr: []string{"warning: serving the Event API on 0.0.0.0:" + port + " beyond this machine without --rpc-token", "without TLS"}},
		{name: "loopback needs no token", args: []string{"build", "--rpc-bind", "127.0.0.1"}, code: fault.EventRPCListen},
		{name: "localhost needs no token", args: []string{"build", "--rpc-bind", "localhost"}, code: fault.EventRPCListen},

		{name: "a certificate without its key", args: []string{"build", "--rpc-tls-cert", cert}, code: fault.UsageInvalid,
			stderr: []string{"--rpc-tls-cert and --rpc-tls-key go together"}},
		{name: "a key without its certificate", args: []string{"build", "--rpc-tls-key", key}, code: fault.UsageInvalid},
		{name: "unreadable TLS files", args: []string{"build", "--rpc-tls-cert", key, "--rpc-tls-key", cert}, code: fault.EventRPCTLSInvalid,
			stderr: []string{"--rpc-tls-cert and --rpc-tls-key"}},
		{name: "a token no header can carry", args: []string{"build", "--rpc-token", "two\nlines"}, code: fault.UsageInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOIST_RPC_TOKEN", tc.env)
			args := append([]string{tc.args[0], "-f", cfg, "--rpc-port", port}, tc.args[1:]...)
			r := runPlain(t.Context(), args...)
			if !strings.Contains(r.stderr, "error ["+string(tc.code)+"]") || r.code != fault.ExitOf(tc.code) {
				t.Fatalf("hoist %s: exit %d, want %s (exit %d)\n%s", strings.Join(args, " "), r.code, tc.code, fault.ExitOf(tc.code), r.stderr)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("the run started before it was refused:\n%s", r.stdout)
			}
		})
	}
}

// TestRPCTokenAndTLS serves a build's Event API over TLS with a token, on
// 127.0.0.1 with a self-signed certificate: hoist events with the CA and
// the token reads the whole run (JSON lines, and gRPC for text), and is
// refused without the token, with a wrong one, and without the CA.
func TestRPCTokenAndTLS(t *testing.T) {
	t.Setenv("HOIST_TOKEN", "")
	t.Setenv("HOIST_RPC_TOKEN", "")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	reg := startRegistry(t)
	cfg := project(t, "  local:\n    push: true\n", "app")
	port := strconv.Itoa(freePort(t))
	address := "https://127.0.0.1:" + port
	done := make(chan result, 1)
	go func() {
		done <- run(t, t.Context(), "build", "-f", cfg, "--default-repo", reg, "--cache-artifacts=false",
			"--rpc-port", port, "--rpc-token", "tls-t0ken", "--rpc-tls-cert", cert, "--rpc-tls-key", key,
			"--wait-for-connection", "--rpc-linger", "8s")
	}()
	// The build waits for its first subscriber; refused calls are none.
	var first result
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		first = run(t, t.Context(), "events", "--address", address, "--ca", cert, "--token", "tls-t0ken", "--follow")
		if first.code == 0 || !strings.Contains(first.stderr, "EVENTS_UNREACHABLE") || time.Now().After(deadline) {
			break
		}
	}
	if first.code != 0 {
		t.Fatalf("hoist events over TLS with the token: exit %d\n%s", first.code, first.stderr)
	}
	checkRun(t, first.events, pb.Status_SUCCEEDED)
	// The run is over; the server lingers for these.
	for _, tc := range []struct {
		name string
		args []string
		env  string
		code fault.Code // "" for success
	}{
		{name: "no token", args: []string{"--ca", cert, "--token", ""}, code: fault.EventsUnauthorized},
		{name: "a wrong token", args: []string{"--ca", cert, "--token", "tls-t0ken2"}, code: fault.EventsUnauthorized},
		{name: "a wrong token over gRPC", args: []string{"--ca", cert, "--token", "nope", "--output", "text"}, code: fault.EventsUnauthorized},
		{name: "no CA", args: []string{"--token", "tls-t0ken"}, code: fault.EventsUnreachable},
		{name: "the token from HOIST_RPC_TOKEN", args: []string{"--ca", cert}, env: "tls-t0ken"},
		{name: "over gRPC", args: []string{"--ca", cert, "--token", "tls-t0ken", "--output", "text"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOIST_RPC_TOKEN", tc.env)
			r := runPlain(t.Context(), append([]string{"events", "--address", address}, tc.args...)...)
			switch {
			case tc.code == "" && r.code != 0:
				t.Errorf("exit %d\n%s", r.code, r.stderr)
			case tc.code == "":
				if strings.Count(r.stdout, "\n") < len(first.events) {
					t.Errorf("read %d lines, want %d\n%s", strings.Count(r.stdout, "\n"), len(first.events), r.stdout)
				}
			case !strings.Contains(r.stderr, "error ["+string(tc.code)+"]"):
				t.Errorf("exit %d, want %s\n%s", r.code, tc.code, r.stderr)
			case tc.code == fault.EventsUnauthorized && !strings.Contains(r.stderr, "--rpc-token"):
				t.Errorf("the refusal does not say which token to give:\n%s", r.stderr)
			}
		})
	}
	var build result
	select {
	case build = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the build did not end after its linger time")
	}
	if build.code != 0 {
		t.Fatalf("hoist build: exit %d\n%s", build.code, build.stderr)
	}
	if !strings.Contains(build.stderr, "serving the Event API of run "+first.events[0].EventId+" on https://127.0.0.1:"+port) {
		t.Errorf("stderr does not say where the API is served:\n%s", build.stderr)
	}
	if diff := cmp.Diff(canonical(t, build.stdout), canonical(t, first.stdout)); diff != "" {
		t.Errorf("hoist events read other events than the build printed (-build +events):\n%s", diff)
	}
}
