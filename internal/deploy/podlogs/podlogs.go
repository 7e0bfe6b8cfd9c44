// Package podlogs follows what the containers of a run's pods print: every
// container, init containers too, of every pod that carries the run's
// label, in the namespaces the run deployed to, including pods created
// later (rollouts, replaced pods), each line once, in order. Pods are
// watched with a client-go informer on the label selector; each
// container's log is a stream of the kubelet's, read with timestamps
// through the API server, so that a stream that breaks (the API server
// restarts) is opened again from its last line, and a container that
// restarts has the end of its earlier run read from the previous log.
package podlogs

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/hoist-dev/hoist/internal/wake"
)

// Line is one line a container printed, without its newline.
type Line struct {
	Namespace, Pod, Container string
	Message                   string
}

// Source opens a container's log, as the API server's pods/log does.
type Source interface {
	Logs(ctx context.Context, namespace, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error)
}

// APISource reads logs through the API server.
type APISource struct{ Client kubernetes.Interface }

// Logs implements Source.
func (s APISource) Logs(ctx context.Context, namespace, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	return s.Client.CoreV1().Pods(namespace).GetLogs(pod, o).Stream(ctx)
}

// Options are what a Follower needs.
type Options struct {
	// Client watches the pods.
	Client kubernetes.Interface
	// Source reads their logs; nil reads them through Client.
	Source Source
	// Selector is the label selector of the run's pods.
	Selector string
	// Emit receives each line. It is called from many goroutines at once,
	// in order for each container.
	Emit func(Line)
	// Log receives what went wrong, such as a broken stream; nil discards
	// it.
	Log *slog.Logger
}

// Follower follows the logs of the pods of one run. Follow names the
// namespaces to watch, and Run follows them until its context is done.
type Follower struct {
	o Options
	// settle and the backoff's bounds are the containers' (see
	// containerLog); tests shorten them.
	settle, minBackoff, maxBackoff time.Duration

	mu         sync.Mutex
	namespaces []string
	asked      wake.Signal
	pods       map[types.UID]*pod
}

// New returns a Follower; Run runs it.
func New(o Options) *Follower {
	if o.Source == nil {
		o.Source = APISource{Client: o.Client}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Follower{o: o, settle: 2 * time.Second, minBackoff: 250 * time.Millisecond, maxBackoff: 5 * time.Second,
		pods: map[types.UID]*pod{}}
}

// Follow adds namespaces to watch, before or while Run runs.
func (f *Follower) Follow(namespaces ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	added := false
	for _, ns := range namespaces {
		if ns != "" && !slices.Contains(f.namespaces, ns) {
			f.namespaces = append(f.namespaces, ns)
			added = true
		}
	}
	if added {
		f.asked.Wake()
	}
}

// Run watches the pods of the namespaces asked for and follows their
// containers until ctx is done, and returns once every line it read has
// been emitted.
func (f *Follower) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	watched := map[string]bool{}
	for {
		asked := f.asked.Wait()
		f.mu.Lock()
		namespaces := slices.Clone(f.namespaces)
		f.mu.Unlock()
		for _, ns := range namespaces {
			if !watched[ns] {
				watched[ns] = true
				wg.Go(func() { f.watch(ctx, ns, &wg) })
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-asked:
		}
	}
}

// watch follows the run's pods of one namespace with an informer, which
// lists and watches them again, with backoff, when its watch breaks.
func (f *Follower) watch(ctx context.Context, ns string, wg *sync.WaitGroup) {
	pods := f.o.Client.CoreV1().Pods(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = f.o.Selector
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = f.o.Selector
			return pods.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, f.o.Client), &corev1.Pod{}, 0, cache.Indexers{})
	// Not yet running, the informer takes these.
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		if ctx.Err() == nil {
			f.o.Log.Warn("watching the run's pods; watching again", "namespace", ns, "err", err)
		}
	})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { f.seen(ctx, obj, false, wg) },
		UpdateFunc: func(_, obj any) { f.seen(ctx, obj, false, wg) },
		DeleteFunc: func(obj any) { f.seen(ctx, obj, true, wg) },
	})
	// client-go's own logs would go to stderr: what matters of them goes
	// to the run's logger above.
	inf.RunWithContext(klog.NewContext(ctx, logr.Discard()))
}

// seen takes in what the informer saw of a pod, and starts following the
// containers of a pod seen for the first time.
func (f *Follower) seen(ctx context.Context, obj any, deleted bool, wg *sync.WaitGroup) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	known, ok := f.pods[p.UID]
	if deleted {
		if ok {
			known.set(p, true)
			delete(f.pods, p.UID)
		}
		return
	}
	if ok {
		known.set(p, false)
		return
	}
	known = &pod{pod: p}
	f.pods[p.UID] = known
	containers := make([]containerLog, 0, len(p.Spec.InitContainers)+len(p.Spec.Containers))
	for _, group := range []struct {
		list []corev1.Container
		init bool
	}{{p.Spec.InitContainers, true}, {p.Spec.Containers, false}} {
		for _, c := range group.list {
			containers = append(containers, containerLog{namespace: p.Namespace, pod: p.Name, container: c.Name,
				src: f.o.Source, emit: f.o.Emit, log: f.o.Log, settle: f.settle,
				backoff: backoff{min: f.minBackoff, max: f.maxBackoff},
				watch:   func() (state, <-chan struct{}) { return known.state(c.Name, group.init) }})
		}
	}
	for i := range containers {
		wg.Go(func() { containers[i].follow(ctx) })
	}
}

// pod is the latest state of one pod seen, shared by the goroutines that
// follow its containers.
type pod struct {
	mu      sync.Mutex
	pod     *corev1.Pod
	gone    bool
	changed wake.Signal
}

func (p *pod) set(latest *corev1.Pod, gone bool) {
	p.mu.Lock()
	p.pod, p.gone = latest, gone
	p.mu.Unlock()
	p.changed.Wake()
}

// state is the state of the pod's container name, an init container when
// init is set, and a channel closed at the pod's next change.
func (p *pod) state(name string, init bool) (state, <-chan struct{}) {
	changed := p.changed.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := state{gone: p.gone}
	phase := p.pod.Status.Phase
	st.final = p.gone || phase == corev1.PodSucceeded || phase == corev1.PodFailed
	statuses, specs := p.pod.Status.ContainerStatuses, p.pod.Spec.Containers
	if init {
		statuses, specs = p.pod.Status.InitContainerStatuses, p.pod.Spec.InitContainers
	}
	for _, cs := range statuses {
		if cs.Name != name {
			continue
		}
		switch t := cs.State.Terminated; {
		case cs.State.Running != nil:
			st.current, st.running = cs.ContainerID, true
		case t != nil:
			st.current = t.ContainerID
			if st.current == "" {
				st.current = cs.ContainerID
			}
			for _, c := range specs {
				if c.Name == name {
					st.restarts = restarts(p.pod.Spec.RestartPolicy, c, init, t.ExitCode)
				}
			}
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			st.previous = t.ContainerID
		}
	}
	return st, changed
}

// restarts tells whether the kubelet starts container c again after a
// run that exited with code: as the pod's restart policy says, a
// container's own Always (a sidecar init container) winning, and an init
// container only after a failure.
func restarts(policy corev1.RestartPolicy, c corev1.Container, init bool, code int32) bool {
	if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
		return true
	}
	switch {
	case policy == corev1.RestartPolicyNever:
		return false
	case init || policy == corev1.RestartPolicyOnFailure:
		return code != 0
	}
	return true
}
