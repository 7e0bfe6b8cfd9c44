package portforward

import (
	"context"
	"sync"
)

// A deploy's caller waits until the forwards of what it deployed have
// settled, so that their portEvents come before it reports the end of
// its work (a dev loop iteration), as Skaffold's do. Each Update starts a
// round: the forwards of its targets are asked to look where they go, and
// each settles for the round at the first look after that which finds it
// established (its portEvent published when it is new or moved) or finds
// a lasting problem. The round's Updates are told when all have settled.

// settled is the signal of one Update, closed once.
type settled struct {
	ch   chan struct{}
	once sync.Once
}

func (s *settled) close() { s.once.Do(func() { close(s.ch) }) }

func (s *settled) closed() bool {
	select {
	case <-s.ch:
		return true
	default:
		return false
	}
}

// settle asks fws, the forwards of the Updates of waiting, to look where
// they go, and closes waiting once they have settled. A round supersedes
// the one before: the Updates of that one are closed when this one
// settles, unless that one settled first.
func (r *running) settle(ctx context.Context, fws []*forward, waiting []*settled) {
	round := r.round
	if r.stopSettling != nil {
		r.stopSettling()
	}
	all := waiting
	for _, s := range r.unsettled {
		if !s.closed() {
			all = append(all, s)
		}
	}
	r.unsettled = all
	sctx, cancel := context.WithCancel(ctx)
	r.stopSettling = cancel
	for _, fw := range fws {
		fw.ask(round)
	}
	r.wg.Go(func() {
		defer cancel()
		for _, fw := range fws {
			fw.waitSettled(sctx, round)
		}
		// Superseded, this round's Updates are the next one's to close;
		// once Run stops, Run closes them.
		if sctx.Err() == nil {
			for _, s := range all {
				s.close()
			}
		}
	})
}

// ask asks the forward to look where it goes, and to settle for round;
// a forward started for round looks anyway.
func (fw *forward) ask(round uint64) {
	if fw.asked.Swap(round) != round {
		fw.poke()
	}
}

// settle records that the forward has settled for round: it looked where
// it goes after round asked it to.
func (fw *forward) settle(round uint64) {
	if round > fw.settledRound.Load() {
		fw.settledRound.Store(round)
		fw.settledChange.Wake()
	}
}

// waitSettled waits until the forward has settled for round, has
// stopped, or ctx is done.
func (fw *forward) waitSettled(ctx context.Context, round uint64) {
	for {
		changed := fw.settledChange.Wait()
		if fw.settledRound.Load() >= round {
			return
		}
		select {
		case <-changed:
		case <-fw.done:
			return
		case <-ctx.Done():
			return
		}
	}
}
