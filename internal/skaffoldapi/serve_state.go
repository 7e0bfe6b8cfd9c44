package skaffoldapi

import (
	"context"
	"sync"

	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// folder is a translator that folds into its state an event it did not
// translate: one given to Handle, as Skaffold's event handler folds it.
type folder[E any] interface {
	Fold(ev E)
}

var (
	_ folder[*skaffoldv1.Event] = (*V1)(nil)
	_ folder[*skaffoldv2.Event] = (*V2)(nil)
)

// Fold folds an event given to Handle into the state.
func (t *V1) Fold(ev *skaffoldv1.Event) { t.fold(ev) }

// Fold folds an event given to Handle into the state.
func (t *V2) Fold(ev *skaffoldv2.Event) { foldV2(t.state, ev) }

// keeper is GetState's translator, which catches up on the bus, and on
// the events given to Handle (H), when asked.
type keeper[E, S, H any] struct {
	newTranslator func() Translator[E, S]
	handled       *handled[H]
	fold          func(tr Translator[E, S], h H)

	mu   sync.Mutex
	sub  *event.Subscription
	tr   Translator[E, S]
	next int // the first handled event not folded yet
}

// state returns the state of the run's events so far.
func (k *keeper[E, S, H]) state(ctx context.Context, api *rpc.Server) (S, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var zero S
	if k.sub == nil {
		k.sub = api.Bus.Follower(0)
		k.tr = k.newTranslator()
	}
	for last := api.Bus.Last(); k.sub.Last() < last; {
		e, err := k.sub.NextEncoded(ctx)
		if err != nil {
			return zero, api.SubscriptionError(ctx, err)
		}
		k.foldHandled(e.Seq() - 1)
		k.tr.Translate(e.Env())
	}
	k.foldHandled(k.sub.Last())
	return k.tr.State(), nil
}

// foldHandled folds the handled events that came after sequence seq at
// the latest.
func (k *keeper[E, S, H]) foldHandled(seq uint32) {
	var hs []H
	hs, k.next = k.handled.since(k.next, seq)
	for _, h := range hs {
		k.fold(k.tr, h)
	}
}

func (k *keeper[E, S, H]) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sub != nil {
		k.sub.Close()
	}
}
