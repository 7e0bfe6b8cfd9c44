package event_test

import (
	"context"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/event"
)

func TestPacer(t *testing.T) {
	var p event.Pacer
	if p.Wait(t.Context()) {
		t.Fatal("Wait waited before any write")
	}
	p.Wrote()
	start := time.Now()
	if !p.Wait(t.Context()) {
		t.Fatal("Wait did not wait right after a write")
	}
	if waited := time.Since(start); waited < event.WriteEvery-100*time.Microsecond {
		t.Fatalf("Wait returned after %s, before WriteEvery (%s)", waited, event.WriteEvery)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p.Wrote()
	if !p.Wait(ctx) {
		t.Fatal("Wait with an ended context reported no wait")
	}
}
