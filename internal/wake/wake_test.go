package wake_test

import (
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/wake"
)

func TestWakeReachesEveryWaiterOnce(t *testing.T) {
	var s wake.Signal
	a, b := s.Wait(), s.Wait()
	s.Wake()
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatal("a waiter was not woken")
		}
	}
	next := s.Wait()
	select {
	case <-next:
		t.Fatal("a channel taken after Wake is already closed")
	default:
	}
	s.Wake()
	s.Wake() // with no waiter, a no-op
	<-next
}
