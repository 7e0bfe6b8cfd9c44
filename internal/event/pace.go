package event

import (
	"context"
	"time"
)

// WriteEvery is how often, at most, a reader that writes events as they
// come (the event log file, stdout, a subscriber's stream) writes while
// they keep coming. An event after a quiet spell goes out at once; one
// that follows the last write closely waits for the rest of WriteEvery,
// with those published meanwhile. A build that prints 400k lines a second
// is then written about 800 lines a write, not one, and no event waits
// longer than WriteEvery.
const WriteEvery = 2 * time.Millisecond

// Pacer paces a reader's writes to one each WriteEvery at most (see
// WriteEvery). Its zero value is ready; it is not safe for concurrent use.
type Pacer struct {
	last  time.Time
	timer *time.Timer
}

// Wait returns once the last write noted with Wrote is WriteEvery old, or
// ctx is done: at once after a quiet spell. It reports whether it waited,
// so that the caller can look for the events published meanwhile.
func (p *Pacer) Wait(ctx context.Context) bool {
	wait := WriteEvery - time.Since(p.last)
	if wait <= 0 {
		return false
	}
	if p.timer == nil {
		p.timer = time.NewTimer(wait)
	} else {
		p.timer.Reset(wait)
	}
	select {
	case <-p.timer.C:
	case <-ctx.Done():
		p.timer.Stop()
	}
	return true
}

// Wrote notes a write made now.
func (p *Pacer) Wrote() { p.last = time.Now() }
