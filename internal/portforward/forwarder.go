// Package portforward forwards local ports to the pods of what a run
// deployed, as kubectl port-forward does but in process, through
// client-go's port-forward dialers (WebSocket, and SPDY where the API
// server has no WebSocket), and following the resource: each forward
// keeps its local listener for the whole run and, when the pod it goes to
// is replaced (a rollout, a deleted pod), moves to another ready pod of
// the same resource. Each forward reports a portEvent when it is
// established and again when it moves. Update tells when the forwards of
// a deploy have settled, so that the deploy's caller can report them
// before it says the deploy's work is done, as Skaffold does.
package portforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/streaming/pkg/httpstream"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/wake"
)

// Timings of the forwards.
const (
	// retryAfter is how soon a forward with no pod to go to looks again,
	// besides whenever a pod of its namespace changes.
	retryAfter = 2 * time.Second
	// recheckAfter is how often a forward checks where it goes even when
	// no pod change was seen (a watch can miss one while it restarts).
	recheckAfter = 30 * time.Second
	// noPodGrace is how long a forward waits for a running pod before it
	// tells the user that there is none.
	noPodGrace = 30 * time.Second
	// connectTimeout is how long a local connection waits for a pod to go
	// to before it is closed.
	connectTimeout = 30 * time.Second
)

// Forwarder keeps a run's port forwards. Update tells it what to forward
// after each deploy; Run forwards until its context is done. Its methods
// are safe for concurrent use; a Forwarder runs once.
type Forwarder struct {
	// Report publishes a forward's portEvent.
	Report func(*pb.PortEvent)
	// Out receives what the user is told: where each forward listens, a
	// local port that was taken, and each target's problem, once.
	Out io.Writer
	// Log receives the detail; nil discards it.
	Log *slog.Logger

	mu      sync.Mutex
	client  kubernetes.Interface
	dial    Dialer
	targets []Target
	// waiting are the settled signals of the Updates that Run has not
	// applied yet; stopped is set once Run has returned.
	waiting []*settled
	stopped bool
	updated wake.Signal
	told    map[string]bool
	// outMu keeps the lines of concurrent forwards whole.
	outMu sync.Mutex
}

// Update replaces the targets to forward, in the cluster that client
// reads and dial reaches. Forwards of targets still wanted go on with
// their local ports; those no longer wanted stop.
//
// The channel it returns is closed once the forwards of targets have
// settled: each has looked where it goes since this Update and is
// established, its portEvent published when it is new or has moved, or
// has a problem that waiting will not mend (its resource, or the port,
// does not exist). It is closed too when a later Update has settled, and
// when Run returns. A forward whose pod is not running yet does not
// settle until it runs: the caller bounds its wait.
func (f *Forwarder) Update(client kubernetes.Interface, dial Dialer, targets []Target) <-chan struct{} {
	s := &settled{ch: make(chan struct{})}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		s.close()
		return s.ch
	}
	f.client, f.dial, f.targets = client, dial, targets
	f.waiting = append(f.waiting, s)
	f.mu.Unlock()
	f.updated.Wake()
	return s.ch
}

func (f *Forwarder) cluster() (kubernetes.Interface, Dialer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.client, f.dial
}

// Run forwards the targets of the last Update, and of each one after it,
// until ctx is done; then it closes every listener and connection.
func (f *Forwarder) Run(ctx context.Context) {
	if f.Log == nil {
		f.Log = slog.New(slog.DiscardHandler)
	}
	if f.Out == nil {
		f.Out = io.Discard
	}
	r := &running{f: f, forwards: map[string]*forward{}, pods: map[string]*wake.Signal{}}
	defer func() {
		r.stop()
		f.mu.Lock()
		f.stopped = true
		waiting := f.waiting
		f.waiting = nil
		f.mu.Unlock()
		for _, s := range append(waiting, r.unsettled...) {
			s.close()
		}
	}()
	for {
		updated := f.updated.Wait()
		f.mu.Lock()
		client, targets, waiting := f.client, f.targets, f.waiting
		f.waiting = nil
		f.mu.Unlock()
		r.round++
		var fws []*forward
		if client != nil {
			fws = r.apply(ctx, client, targets)
		}
		r.settle(ctx, fws, waiting)
		select {
		case <-ctx.Done():
			return
		case <-updated:
		}
	}
}

// running is the state of Run: the forwards by target and the pod
// watches by namespace.
type running struct {
	f        *Forwarder
	forwards map[string]*forward
	pods     map[string]*wake.Signal
	wg       sync.WaitGroup

	// round counts the applied Updates: the one being applied, or the
	// last one. unsettled are the signals of those the last round closes
	// when it settles, those of earlier rounds it superseded included;
	// stopSettling stops the wait of the last round when a new one
	// starts.
	round        uint64
	unsettled    []*settled
	stopSettling context.CancelFunc
}

// apply starts the forwards of targets that have none, each port of a
// target that stands for all its ports on its own, and stops those of
// targets no longer wanted. It returns the forwards of targets.
func (r *running) apply(ctx context.Context, client kubernetes.Interface, targets []Target) []*forward {
	want := map[string]bool{}
	for _, t := range targets {
		each := []Target{t}
		if t.allPorts() {
			ps, err := ports(ctx, client, t)
			if err != nil {
				// The ports forwarded so far stay, rather than come back
				// on other local ports after a passing failure.
				r.f.Log.Debug("listing the ports to forward", "target", t.key(), "err", err)
				for k, fw := range r.forwards {
					if fw.t.sameResource(t) {
						want[k] = true
					}
				}
			}
			each = each[:0]
			for _, p := range ps {
				pt := t
				pt.Port = p
				each = append(each, pt)
			}
		}
		for _, t := range each {
			k := t.key()
			if want[k] {
				continue // the first target of a resource and port wins
			}
			want[k] = true
			if r.forwards[k] != nil {
				continue
			}
			if fw := r.start(ctx, client, t); fw != nil {
				r.forwards[k] = fw
			}
		}
	}
	var out []*forward
	for k, fw := range r.forwards {
		if !want[k] {
			fw.stop()
			delete(r.forwards, k)
			continue
		}
		out = append(out, fw)
	}
	return out
}

// stop stops every forward and waits for them.
func (r *running) stop() {
	for _, fw := range r.forwards {
		fw.stop()
	}
	r.wg.Wait()
}

// podChanges is the signal woken by each change to a pod of namespace.
func (r *running) podChanges(ctx context.Context, client kubernetes.Interface, namespace string) *wake.Signal {
	if s := r.pods[namespace]; s != nil {
		return s
	}
	s := &wake.Signal{}
	r.pods[namespace] = s
	r.wg.Go(func() { r.watchPods(ctx, client, namespace, s) })
	return s
}

// watchPods wakes s at each change to a pod of namespace until ctx is
// done, watching again whenever a watch ends.
func (r *running) watchPods(ctx context.Context, client kubernetes.Interface, namespace string, s *wake.Signal) {
	for ctx.Err() == nil {
		w, err := client.CoreV1().Pods(namespace).Watch(ctx, metav1.ListOptions{})
		if err == nil {
			stop := context.AfterFunc(ctx, w.Stop)
			for range w.ResultChan() {
				s.Wake()
			}
			stop()
			w.Stop()
		} else {
			r.f.Log.Debug("watching pods", "namespace", namespace, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryAfter):
		}
	}
}

// start listens for t and starts following its resource; nil when no
// local port can be listened on.
func (r *running) start(ctx context.Context, client kubernetes.Interface, t Target) *forward {
	want := wanted(t)
	ln, err := listen(ctx, t.Address, want)
	if err != nil {
		r.f.tellOnce("listen/"+t.key(), "warning: cannot forward %s: %v\n  hint: %s\n", t, err,
			"use a local address of this machine (portForward address), such as 127.0.0.1")
		return nil
	}
	local := portOf(ln)
	if want > 0 && local != want {
		r.f.tell("warning: port forward of %s: local port %d is taken, using %d\n", t, want, local)
	}
	fctx, cancel := context.WithCancel(ctx)
	fw := &forward{t: t, ln: ln, local: local, cancel: cancel, done: fctx.Done(), kick: make(chan struct{}, 1), owner: r.f}
	// Its first look is for this round.
	fw.asked.Store(r.round)
	pods := r.podChanges(ctx, client, t.Namespace)
	r.wg.Go(func() { r.f.follow(fctx, fw, pods) })
	r.wg.Go(func() { fw.accept(fctx, &r.wg) })
	return fw
}

// forward is one forwarded port: its listener, and the tunnel of the pod
// that its connections go to now.
type forward struct {
	t      Target
	ln     net.Listener
	local  int
	cancel context.CancelFunc
	// done is closed once the forward has stopped.
	done  <-chan struct{}
	owner *Forwarder
	// kick asks the forward to look where it goes now.
	kick chan struct{}
	// swapped is woken when the tunnel changes.
	swapped wake.Signal
	// asked is the last round of Updates that asked the forward to look
	// where it goes; settledRound the last round it has settled for,
	// woken by settledChange.
	asked         atomic.Uint64
	settledRound  atomic.Uint64
	settledChange wake.Signal

	mu  sync.Mutex
	cur *tunnel
}

func (fw *forward) poke() {
	select {
	case fw.kick <- struct{}{}:
	default:
	}
}

func (fw *forward) stop() {
	fw.cancel()
}

func (fw *forward) current() *tunnel {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.cur
}

// swap makes t the tunnel of new connections and retires the one before.
func (fw *forward) swap(t *tunnel) {
	fw.mu.Lock()
	old := fw.cur
	fw.cur = t
	fw.mu.Unlock()
	if old != nil {
		old.retire()
	}
	fw.swapped.Wake()
}

// accept serves each local connection until ctx is done, then closes the
// listener and the connections still open.
func (fw *forward) accept(ctx context.Context, wg *sync.WaitGroup) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	stopped := context.AfterFunc(ctx, func() {
		_ = fw.ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range open {
			_ = c.Close()
		}
	})
	defer stopped()
	for {
		conn, err := fw.ln.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			_ = conn.Close()
			return
		}
		open[conn] = true
		mu.Unlock()
		wg.Go(func() {
			fw.serve(ctx, conn)
			mu.Lock()
			delete(open, conn)
			mu.Unlock()
			_ = conn.Close()
		})
	}
}

// serve forwards one local connection to the current pod. When the
// tunnel turns out to be gone, the connection waits for the next one.
func (fw *forward) serve(ctx context.Context, conn net.Conn) {
	for range 3 {
		t := fw.acquire(ctx)
		if t == nil {
			return
		}
		err := t.forward(conn)
		t.release()
		if !errors.Is(err, errStreams) {
			if err != nil {
				// The pod refused the connection, say: the app does not
				// listen on the port (yet). Told once per pod.
				fw.owner.tellOnce("refused/"+fw.t.key()+"/"+t.ep.Pod, "warning: port forward of %s: pod %s, port %d: %v\n", fw.t, t.ep.Pod, t.ep.Port, err)
			}
			return
		}
		// The pod's connection broke before this one could use it: ask
		// for another and try again, nothing having been sent yet.
		t.retire()
		fw.poke()
	}
}

// acquire returns the tunnel to forward a new connection through,
// waiting for one while there is none.
func (fw *forward) acquire(ctx context.Context) *tunnel {
	deadline := time.NewTimer(connectTimeout)
	defer deadline.Stop()
	for {
		swapped := fw.swapped.Wait()
		if t := fw.current(); t != nil && t.acquire() {
			return t
		}
		fw.poke()
		select {
		case <-swapped:
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// follow keeps fw going to a pod of its resource until ctx is done: it
// looks again at each change to a pod of its namespace, when the pod's
// connection ends, when asked, and every so often. Each look settles the
// round that asked for it when the forward is established, its move
// reported, or when its problem is lasting.
func (f *Forwarder) follow(ctx context.Context, fw *forward, pods *wake.Signal) {
	defer func() {
		if t := fw.current(); t != nil {
			_ = t.conn.Close()
		}
	}()
	var reported endpoint
	var waiting time.Time // since when no pod has been found
	for {
		changed := pods.Wait()
		round := fw.asked.Load()
		ep, err := f.refresh(ctx, fw, reported)
		switch {
		case err == nil:
			waiting = time.Time{}
			if ep != reported {
				first := reported == (endpoint{})
				reported = ep
				f.report(fw, ep, first)
			}
			fw.settle(round)
		case ctx.Err() != nil:
			return
		default:
			var p *problem
			known := errors.As(err, &p)
			if known && p.kind == noPod {
				if waiting.IsZero() {
					waiting = time.Now()
				}
				if time.Since(waiting) < noPodGrace {
					break
				}
			}
			f.problem(fw.t, err)
			if known && p.lasting() {
				fw.settle(round)
			}
		}
		var closed <-chan bool
		after := recheckAfter
		if t := fw.current(); t != nil {
			closed = t.conn.CloseChan()
		} else {
			after = retryAfter
		}
		timer := time.NewTimer(after)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-changed:
		case <-closed:
		case <-fw.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// refresh resolves where fw's connections go now and, when that is a new
// pod or port, or the pod's connection has ended, dials it and makes it
// the tunnel of new connections.
func (f *Forwarder) refresh(ctx context.Context, fw *forward, last endpoint) (endpoint, error) {
	client, dial := f.cluster()
	cur := fw.current()
	ep, err := resolve(ctx, client, fw.t, last.Pod)
	if err != nil {
		if cur != nil && !cur.usable() {
			fw.swap(nil)
		}
		return endpoint{}, err
	}
	if cur != nil && cur.ep == ep && cur.usable() {
		return ep, nil
	}
	conn, err := dialContext(ctx, dial, fw.t.Namespace, ep.Pod)
	if err != nil {
		if ctx.Err() != nil {
			return endpoint{}, err
		}
		return endpoint{}, &problem{kind: unreachable, msg: fmt.Sprintf("cannot connect to pod %s: %v", ep.Pod, err),
			hint: "check that the kubeconfig's user may create pods/portforward (kubectl auth can-i create pods/portforward -n " + fw.t.Namespace + "); hoist tries again"}
	}
	fw.swap(&tunnel{conn: conn, namespace: fw.t.Namespace, ep: ep})
	return ep, nil
}

// dialContext dials, giving up when ctx is done; a connection made after
// that is closed.
func dialContext(ctx context.Context, dial Dialer, namespace, pod string) (httpstream.Connection, error) {
	type result struct {
		c   httpstream.Connection
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := dial(namespace, pod)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.c != nil {
				_ = r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// report publishes the portEvent of fw going to ep, and tells the user
// where a new forward listens.
func (f *Forwarder) report(fw *forward, ep endpoint, first bool) {
	t := fw.t
	f.Report(&pb.PortEvent{LocalPort: uint32(fw.local), RemotePort: uint32(ep.Port), Pod: ep.Pod, Container: ep.Container,
		Namespace: t.Namespace, ResourceType: t.Type, ResourceName: t.Name, Address: t.Address})
	addr := net.JoinHostPort(t.Address, strconv.Itoa(fw.local))
	if first {
		f.tell("Forwarding %s/%s in namespace %s, port %s -> http://%s\n", t.Type, t.Name, t.Namespace, t.Port.String(), addr)
		return
	}
	f.Log.Info("port forward moved", "local", addr, "target", t.key(), "pod", ep.Pod, "port", ep.Port)
}

// problem tells the user, once per target and kind, why t has nowhere to
// go; the forward keeps looking.
func (f *Forwarder) problem(t Target, err error) {
	var p *problem
	if !errors.As(err, &p) {
		f.Log.Debug("port forward", "target", t.key(), "err", err)
		return
	}
	if !t.User && p.kind != badPort && p.kind != unreachable {
		// What the run deployed and then removed is not the user's doing.
		f.Log.Debug("port forward", "target", t.key(), "err", err)
		return
	}
	f.tellOnce(p.kind+"/"+t.key(), "warning: port forward of %s: %s\n  hint: %s\n", t, p.msg, p.hint)
}

// tell writes a message for the user; one that cannot be written is not
// worth more.
func (f *Forwarder) tell(format string, args ...any) {
	f.outMu.Lock()
	defer f.outMu.Unlock()
	_, _ = fmt.Fprintf(f.Out, format, args...)
}

// tellOnce tells the message of key the first time only.
func (f *Forwarder) tellOnce(key, format string, args ...any) {
	f.mu.Lock()
	if f.told == nil {
		f.told = map[string]bool{}
	}
	told := f.told[key]
	f.told[key] = true
	f.mu.Unlock()
	if !told {
		f.tell(format, args...)
	}
}
