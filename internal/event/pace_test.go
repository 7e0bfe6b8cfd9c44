package event_test

import (
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/event"
)

func TestPacer(t *testing.T) {
	wrote := make(chan time.Time, 1)
	p := event.NewPacer(func() { wrote <- time.Now() })
	p.Lock()
	if !p.Due(event.WriteEvery) {
		t.Fatal("a write was not due before any write")
	}
	p.Wrote()
	start := time.Now()
	if p.Due(event.WriteEvery) {
		t.Fatal("a write was due right after a write")
	}
	p.Unlock()
	at := <-wrote
	if waited := at.Sub(start); waited < event.WriteEvery-100*time.Microsecond {
		t.Fatalf("the pacer wrote after %s, before WriteEvery (%s)", waited, event.WriteEvery)
	}
	// A write of the reader's own cancels the pacer's.
	p.Lock()
	p.Wrote()
	if p.Due(event.WriteEvery) {
		t.Fatal("a write was due right after a write")
	}
	p.Wrote()
	p.Unlock()
	select {
	case <-wrote:
		t.Fatal("the pacer wrote although the reader had")
	case <-time.After(3 * event.WriteEvery):
	}
	p.Lock()
	p.Stop()
	if !p.Due(event.WriteEvery) {
		t.Fatal("a write was not due after Stop")
	}
	p.Unlock()
}
