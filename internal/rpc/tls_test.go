package rpc_test

import (
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestPushOverTLSWithToken pushes to a sink that serves TLS and requires a
// bearer token.
func TestPushOverTLSWithToken(t *testing.T) {
	sink := &memSink{stored: map[uint32]int{}}
	mux := http.NewServeMux()
	mux.Handle(hoistv1alpha2connect.NewEventSinkServiceHandler(sink))
	authed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "16")
			w.Header().Set("Grpc-Message", "missing or wrong token")
			w.WriteHeader(http.StatusOK)
			return
		}
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(authed)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}

	bad, err := rpc.NewPusher(testutil.NewBus(t, event.WithMemory(1024)), rpc.ClientOptions{Address: srv.URL, CAFile: ca, Token: "wrong"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Check(t.Context(), 5*time.Second); err == nil {
		t.Error("a wrong token was accepted")
	}
	noCA, _ := rpc.NewPusher(testutil.NewBus(t, event.WithMemory(1024)), rpc.ClientOptions{Address: srv.URL, Token: "s3cret"}, slog.New(slog.DiscardHandler))
	if err := noCA.Check(t.Context(), 5*time.Second); err == nil {
		t.Error("a certificate from an unknown CA was accepted")
	}

	bus := testutil.NewBus(t, event.WithMemory(1024))
	p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: srv.URL, CAFile: ca, Token: "s3cret"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(t.Context(), 5*time.Second); err != nil {
		t.Fatalf("Check: %v", err)
	}
	go p.Run(t.Context())
	for i := range 100 {
		bus.Publish(testutil.LogEvent("app", fmt.Sprintf("line %d of the build output", i)))
	}
	testutil.Terminate(bus)
	if left := p.Flush(t.Context(), 10*time.Second); left != 0 {
		t.Fatalf("%d events not acknowledged over TLS", left)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.stored) != 101 {
		t.Errorf("sink stored %d events, want 101", len(sink.stored))
	}
}
