package event

import (
	"sync"
	"time"
)

// WriteEvery is how often, at most, a reader that writes events as they
// come (the event log file, stdout, a subscriber's stream) writes while
// they keep coming. An event after a quiet spell goes out at once; one
// that follows the last write closely is written with those that come
// until WriteEvery has passed, or then on its own. A build that prints
// 400k lines a second is so written about 800 lines a write, not one, and
// no event waits longer than WriteEvery.
const WriteEvery = 2 * time.Millisecond

// Pacer paces the writes of a reader that buffers events: Due says whether
// a write is due now, and when it is not, the pacer makes it itself once
// the bound has passed, unless the reader wrote meanwhile. The reader's
// buffer and write are guarded by the pacer's lock: the reader holds it
// (Lock, Unlock) while it buffers and writes, and the pacer's own write
// takes it too.
type Pacer struct {
	sync.Mutex
	write func() // the reader's write, under the lock
	last  time.Time
	owed  bool
	timer *time.Timer
	done  bool
}

// NewPacer returns a pacer whose own writes call write, with the lock
// held.
func NewPacer(write func()) *Pacer { return &Pacer{write: write} }

// Due reports whether the reader should write what it buffered now: when
// its last write is within old (WriteEvery for a reader that has caught
// up). When it should not, the pacer writes at the latest within after the
// last write. Call it with the lock held.
func (p *Pacer) Due(within time.Duration) bool {
	wait := within - time.Since(p.last)
	if wait <= 0 || p.done {
		return true
	}
	if !p.owed {
		p.owed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(wait, p.timed)
		} else {
			p.timer.Reset(wait)
		}
	}
	return false
}

// Wrote notes that the reader wrote what it had buffered. Call it with the
// lock held.
func (p *Pacer) Wrote() {
	p.last, p.owed = time.Now(), false
}

// Stop ends the pacer's own writes: the reader writes what is left. Call
// it with the lock held.
func (p *Pacer) Stop() {
	p.done = true
	if p.timer != nil {
		p.timer.Stop()
	}
}

func (p *Pacer) timed() {
	p.Lock()
	defer p.Unlock()
	if p.owed && !p.done {
		p.write()
		p.Wrote()
	}
}
