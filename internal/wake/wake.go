// Package wake is a broadcast without values: goroutines wait for the next
// change of something they read elsewhere, and whoever changes it wakes
// them all at once. The event bus's subscribers wait so for new events, the
// pusher for acknowledgements, the collector's readers for stored events.
package wake

import "sync"

// Signal wakes every waiter at once: a channel closed and replaced. The
// zero value is ready to use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait returns a channel closed at the next Wake. Take it before reading
// what it guards, so that a change between the read and the wait is not
// missed.
func (s *Signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Wake wakes every goroutine waiting on a channel from Wait.
func (s *Signal) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
