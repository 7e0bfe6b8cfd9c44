package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/emptypb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// recordingController is a dev loop that records the calls it is given.
type recordingController struct {
	mu    sync.Mutex
	calls []string
}

func (c *recordingController) record(call string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
}

func (c *recordingController) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *recordingController) Execute(build, deploy bool) uint32 {
	c.record("Execute")
	return 2
}

func (c *recordingController) AutoBuild(on bool) bool  { c.record("AutoBuild"); return on }
func (c *recordingController) AutoDeploy(on bool) bool { c.record("AutoDeploy"); return on }
func (c *recordingController) AutoSync(on bool) bool   { c.record("AutoSync"); return on }

var _ rpc.Controller = (*recordingController)(nil)

const token = "s3cret-t0ken"

// guardedAPI serves a finished run's Event API and ControlService, with
// ctrl as its dev loop, behind RequireToken, and returns its URL.
func guardedAPI(t *testing.T, ctrl rpc.Controller) string {
	t.Helper()
	bus := testutil.NewBus(t, event.WithMemory(1024))
	bus.Publish(&pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "dev"}}})
	bus.Publish(testutil.LogEvent("app", "a line of the build output"))
	testutil.Terminate(bus)
	control := &rpc.Control{}
	control.Set(ctrl)
	api := &rpc.Server{Bus: bus, State: state.New(), Control: control}
	return testutil.Serve(t, rpc.NewHTTPServer(rpc.RequireToken(token, api.Handler())))
}

// protocols are the RPC protocols the API answers, as clients choose them.
var protocols = []struct {
	name string
	opt  connect.ClientOption
}{
	{"grpc", connect.WithGRPC()},
	{"grpc-web", connect.WithGRPCWeb()},
	{"connect", connect.WithProtoJSON()}, // Connect's protocol is the default
}

// TestRequireTokenRefusesEveryProcedure calls every procedure the run
// serves, and one no service serves yet (a service added later), without
// the token and with a wrong one, over gRPC, gRPC-Web and Connect: each is
// refused with UNAUTHENTICATED before any handler runs, so the dev loop
// is never called.
func TestRequireTokenRefusesEveryProcedure(t *testing.T) {
	ctrl := &recordingController{}
	url := guardedAPI(t, ctrl)
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	procedures := []struct {
		path   string
		stream connect.StreamType
	}{
		{hoistv1alpha2connect.EventServiceEventsProcedure, connect.StreamTypeServer},
		{hoistv1alpha2connect.EventServiceGetStateProcedure, connect.StreamTypeUnary},
		{hoistv1alpha2connect.ControlServiceExecuteProcedure, connect.StreamTypeUnary},
		{hoistv1alpha2connect.ControlServiceAutoBuildProcedure, connect.StreamTypeUnary},
		{hoistv1alpha2connect.ControlServiceAutoDeployProcedure, connect.StreamTypeUnary},
		{hoistv1alpha2connect.ControlServiceAutoSyncProcedure, connect.StreamTypeUnary},
		{"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", connect.StreamTypeBidi},
		{"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", connect.StreamTypeBidi},
		{"/proto.v2.SkaffoldV2Service/Execute", connect.StreamTypeUnary},
		{"/proto.SkaffoldService/Events", connect.StreamTypeServer},
	}
	for _, p := range procedures {
		for _, proto := range protocols {
			for _, sent := range []string{"", "wrong"} {
				name := strings.TrimPrefix(p.path, "/") + "/" + proto.name + "/token=" + sent
				t.Run(name, func(t *testing.T) {
					opts := []connect.ClientOption{proto.opt, connect.WithInterceptors(bearerOf(sent))}
					err := probe(t.Context(), hc, url+p.path, p.stream, opts)
					if connect.CodeOf(err) != connect.CodeUnauthenticated {
						t.Fatalf("got %v, want UNAUTHENTICATED", err)
					}
					if !strings.Contains(err.Error(), "--rpc-token") {
						t.Errorf("the refusal does not say what to do: %v", err)
					}
				})
			}
		}
	}
	if calls := ctrl.Calls(); len(calls) > 0 {
		t.Errorf("control calls without the token reached the dev loop: %v", calls)
	}
}

// bearerOf sends token, when set, as hoist's clients do.
type bearerOf string

func (b bearerOf) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearerOf) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearerOf) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// probe calls the procedure at url with an empty message: the middleware
// refuses it before anything reads the message.
func probe(ctx context.Context, hc connect.HTTPClient, url string, stream connect.StreamType, opts []connect.ClientOption) error {
	c := connect.NewClient[emptypb.Empty, emptypb.Empty](hc, url, opts...)
	switch stream {
	case connect.StreamTypeServer:
		s, err := c.CallServerStream(ctx, connect.NewRequest(&emptypb.Empty{}))
		if err != nil {
			return err
		}
		defer func() { _ = s.Close() }()
		for s.Receive() {
		}
		return s.Err()
	case connect.StreamTypeBidi:
		s := c.CallBidiStream(ctx)
		defer func() { _ = s.CloseResponse() }()
		if err := s.Send(&emptypb.Empty{}); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := s.CloseRequest(); err != nil {
			return err
		}
		_, err := s.Receive()
		return err
	}
	_, err := c.CallUnary(ctx, connect.NewRequest(&emptypb.Empty{}))
	return err
}

// TestRequireTokenLetsTheTokenThrough makes each call of the run's
// services with the token, over each protocol: they work, and the
// control calls reach the dev loop.
func TestRequireTokenLetsTheTokenThrough(t *testing.T) {
	ctrl := &recordingController{}
	url := guardedAPI(t, ctrl)
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range protocols {
		t.Run(proto.name, func(t *testing.T) {
			opts := []connect.ClientOption{proto.opt, connect.WithInterceptors(bearerOf(token))}
			events := hoistv1alpha2connect.NewEventServiceClient(hc, url, opts...)
			stream, err := events.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			seqs, err := collect(stream)
			if err != nil || len(seqs) != 3 {
				t.Errorf("Events with the token: %v, %v; want 3 events", seqs, err)
			}
			if _, err := events.GetState(t.Context(), connect.NewRequest(&pb.GetStateRequest{})); err != nil {
				t.Errorf("GetState with the token: %v", err)
			}
			control := hoistv1alpha2connect.NewControlServiceClient(hc, url, opts...)
			if resp, err := control.Execute(t.Context(), connect.NewRequest(&pb.ExecuteRequest{Build: true})); err != nil || resp.Msg.Iteration != 2 {
				t.Errorf("Execute with the token: %v, %v", resp, err)
			}
			if _, err := control.AutoBuild(t.Context(), connect.NewRequest(&pb.AutoBuildRequest{Enabled: true})); err != nil {
				t.Errorf("AutoBuild with the token: %v", err)
			}
			if _, err := control.AutoDeploy(t.Context(), connect.NewRequest(&pb.AutoDeployRequest{Enabled: true})); err != nil {
				t.Errorf("AutoDeploy with the token: %v", err)
			}
			if _, err := control.AutoSync(t.Context(), connect.NewRequest(&pb.AutoSyncRequest{Enabled: true})); err != nil {
				t.Errorf("AutoSync with the token: %v", err)
			}
		})
	}
	want := strings.Fields(strings.Repeat("Execute AutoBuild AutoDeploy AutoSync ", len(protocols)))
	if diff := cmp.Diff(want, ctrl.Calls()); diff != "" {
		t.Errorf("the dev loop's calls (-want +got):\n%s", diff)
	}
}

// TestRequireTokenOverPlainHTTP reads the JSON-lines endpoints, and a
// path no service serves yet, with curl's kind of request: 401 with a
// WWW-Authenticate challenge without the token or with a wrong one, the
// events with it. The health check answers without it.
func TestRequireTokenOverPlainHTTP(t *testing.T) {
	url := guardedAPI(t, &recordingController{})
	get := func(t *testing.T, path, auth string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body), resp.Header
	}
	for _, path := range []string{rpc.EventsPath + "?after=0", rpc.StatePath, "/v2/events", "/v1/state", "/"} {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + token, token, "Bearer " + token + "x"} {
			t.Run(path+"/"+auth, func(t *testing.T) {
				code, body, h := get(t, path, auth)
				if code != http.StatusUnauthorized || !strings.Contains(body, "--rpc-token") || h.Get("WWW-Authenticate") == "" {
					t.Errorf("got %d %q (WWW-Authenticate %q), want 401 saying what to do", code, body, h.Get("WWW-Authenticate"))
				}
			})
		}
	}
	if code, body, _ := get(t, rpc.EventsPath+"?after=0", "Bearer "+token); code != http.StatusOK || strings.Count(body, "\n") != 3 {
		t.Errorf("events with the token: %d\n%s", code, body)
	}
	if code, body, _ := get(t, rpc.StatePath, "Bearer "+token); code != http.StatusOK || !strings.HasPrefix(body, "{") {
		t.Errorf("state with the token: %d\n%s", code, body)
	}
	// The health check, in Connect's unary JSON.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "SERVING") {
		t.Errorf("health check without the token: %d %s", resp.StatusCode, body)
	}
}

// TestRequireTokenWithGrpcurl uses grpcurl, a grpc-go client, as IDEs
// and scripts do: without the token reflection itself is refused with
// Unauthenticated, with it the services are listed and answer.
func TestRequireTokenWithGrpcurl(t *testing.T) {
	grpcurl := testutil.Tool(t, "grpcurl")
	addr := strings.TrimPrefix(guardedAPI(t, &recordingController{}), "http://")
	out, err := exec.CommandContext(t.Context(), grpcurl, "-plaintext", addr, "list").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Unauthenticated") {
		t.Errorf("grpcurl list without the token: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(t.Context(), grpcurl, "-plaintext", "-H", "authorization: Bearer wrong", "-d", `{"build": true}`,
		addr, "hoist.v1alpha2.ControlService/Execute").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Unauthenticated") {
		t.Errorf("grpcurl Execute with a wrong token: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(t.Context(), grpcurl, "-plaintext", "-H", "authorization: Bearer "+token, addr, "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hoist.v1alpha2.ControlService") {
		t.Errorf("grpcurl list with the token: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(t.Context(), grpcurl, "-plaintext", "-H", "authorization: Bearer "+token, "-d", `{"after_sequence": 0}`,
		addr, "hoist.v1alpha2.EventService/Events").CombinedOutput()
	if err != nil || strings.Count(string(out), `"sequence"`) != 3 {
		t.Errorf("grpcurl Events with the token: %v\n%s", err, out)
	}
}

// TestHealthCheckNeedsNoToken checks the health of the guarded API over
// gRPC without a token, as a load balancer's probe does (grpcurl could
// not: it reads the service's descriptor through reflection, which needs
// the token).
func TestHealthCheckNeedsNoToken(t *testing.T) {
	url := guardedAPI(t, &recordingController{})
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	// HealthCheckResponse{status: SERVING} is field 1, varint 1: the
	// empty message keeps it as unknown bytes.
	check := connect.NewClient[emptypb.Empty, emptypb.Empty](hc, url+"/grpc.health.v1.Health/Check", connect.WithGRPC())
	resp, err := check.CallUnary(t.Context(), connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Msg.ProtoReflect().GetUnknown(); !bytes.Equal(got, []byte{0x08, 0x01}) {
		t.Errorf("health check answered %x, want SERVING (0801)", got)
	}
}

func TestRequireTokenWithoutTokenIsOpen(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	if got := rpc.RequireToken("", h); got == nil {
		t.Fatal("no handler")
	}
	url := testutil.Serve(t, rpc.NewHTTPServer(rpc.RequireToken("", h)))
	resp, err := http.Get(url + "/v1alpha2/state")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("without a token set: %s, want 200", resp.Status)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true,
		"0.0.0.0": false, "": false, "::": false, "10.0.0.1": false, "192.168.1.20": false,
		"example.com": false, "localhost.example.com": false, "::ffff:127.0.0.1": true,
	} {
		if got := rpc.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
