// Package status waits until deployed workloads are rolled out: each
// Deployment, StatefulSet, DaemonSet and standalone Pod is watched (not
// polled) until it is ready, until one of its pods fails in a way that
// usually lasts (an image that cannot be pulled, a container that keeps
// crashing), or until the deadline passes. Every change of a resource's
// state is reported, with the cluster's own reasons, such as
// ImagePullBackOff, CrashLoopBackOff, Unschedulable or
// ProgressDeadlineExceeded.
package status

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
)

// State is where a resource stands.
type State int

// States.
const (
	InProgress State = iota
	Ready
	Failed
)

// Update is a change of one resource's state.
type Update struct {
	// Resource is kind/namespace/name.
	Resource string
	State    State
	Message  string
	// Err is set when State is Failed.
	Err error
}

// Checked reports whether a kind is status-checked.
func Checked(kind string) bool {
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "Pod":
		return true
	}
	return false
}

// Options tune a check.
type Options struct {
	// Deadline bounds the whole check.
	Deadline time.Duration
	// TolerateFailures waits through image pull errors and crash loops until
	// the deadline, as Skaffold's tolerateFailuresUntilDeadline does, for
	// workloads that recover (an image pushed later, a dependency that comes
	// up). Without it the check fails at the first one, as Skaffold's does.
	TolerateFailures bool
}

// Check watches the checked resources until all are ready, one fails or
// the deadline passes, calling report on every change. It returns the first
// failure.
func Check(ctx context.Context, client kubernetes.Interface, resources []deploy.Resource, o Options, report func(Update)) error {
	ctx, cancel := context.WithTimeoutCause(ctx, o.Deadline, errDeadline)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, r := range resources {
		if !Checked(r.Kind) {
			continue
		}
		w := &watcher{client: client, r: r, deadline: o.Deadline, tolerate: o.TolerateFailures, report: func(u Update) {
			mu.Lock()
			defer mu.Unlock()
			report(u)
		}}
		wg.Go(func() {
			if err := w.run(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

var errDeadline = errors.New("status check deadline exceeded")

// watcher follows one resource and, for workloads, its pods.
type watcher struct {
	client   kubernetes.Interface
	r        deploy.Resource
	deadline time.Duration
	tolerate bool
	report   func(Update)

	last     string
	obj      runtime.Object
	pods     map[string]*corev1.Pod
	selector labels.Selector
}

func (w *watcher) id() string { return w.r.Kind + "/" + w.r.Namespace + "/" + w.r.Name }

func (w *watcher) run(ctx context.Context) error {
	w.pods = map[string]*corev1.Pod{}
	objCh := make(chan runtime.Object)
	podCh := make(chan watch.Event)
	errCh := make(chan error, 2)
	go func() { errCh <- w.follow(ctx, objCh) }()
	// catchUp fires when the pods were given podsCatchUp to match a
	// workload that is done; waited is then set.
	var catchUp <-chan time.Time
	waited := false
	for {
		select {
		case <-ctx.Done():
			return w.timeout(ctx)
		case <-catchUp:
			waited = true
		case err := <-errCh:
			if ctx.Err() != nil {
				return w.timeout(ctx)
			}
			return w.fail(fault.Wrap(err, fault.StatusCheckFailed,
				fmt.Sprintf("watching %s", w.id()), "check that the cluster still answers"))
		case obj := <-objCh:
			w.obj = obj
			if w.selector == nil && w.r.Kind != "Pod" {
				if sel := selectorOf(obj); sel != nil {
					w.selector = sel
					go func() { errCh <- w.followPods(ctx, podCh) }()
				}
			}
		case ev := <-podCh:
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(w.pods, pod.Name)
			} else {
				w.pods[pod.Name] = pod
			}
		}
		if w.obj == nil {
			continue
		}
		done, msg, failure := w.evaluate()
		if !done && failure == nil && !w.tolerate {
			failure = w.lasting()
		}
		if w.selector != nil {
			msg += w.podList()
		}
		switch {
		case failure != nil:
			return w.fail(failure)
		case done && !waited && !w.podsSettled():
			// The workload's status and its pods come on two watches,
			// and the status can be ahead: its pods are named as they
			// are once their watch catches up, or after podsCatchUp.
			if catchUp == nil {
				catchUp = time.After(podsCatchUp)
			}
		case done:
			w.report(Update{Resource: w.id(), State: Ready, Message: msg})
			return nil
		case msg != w.last:
			w.last = msg
			w.report(Update{Resource: w.id(), State: InProgress, Message: msg})
		}
	}
}

func (w *watcher) fail(err error) error {
	w.report(Update{Resource: w.id(), State: Failed, Message: err.Error(), Err: err})
	return err
}

// timeout is the failure at the deadline: the most specific reason the
// cluster gave, or the last progress message.
func (w *watcher) timeout(ctx context.Context) error {
	if !errors.Is(context.Cause(ctx), errDeadline) {
		return ctx.Err()
	}
	code, reason := w.podReason()
	if code == "" {
		code, reason = fault.StatusCheckDeadline, w.last
	}
	return w.fail(fault.New(code,
		fmt.Sprintf("%s was not ready within %s: %s", w.id(), w.deadline, reason),
		suggestion(code)))
}

// lasting is the failure of a pod that does not get better by waiting: its
// image cannot be pulled, or its container keeps exiting. Unschedulable
// pods are not among them: a node may come.
func (w *watcher) lasting() error {
	code, reason := w.podReason()
	if code != fault.StatusCheckImagePull && code != fault.StatusCheckCrashLoop {
		return nil
	}
	return fault.New(code, fmt.Sprintf("%s: %s", w.id(), reason), suggestion(code))
}

func suggestion(code fault.Code) string {
	switch code {
	case fault.StatusCheckImagePull:
		return "check the image reference and that the cluster can pull from its registry"
	case fault.StatusCheckCrashLoop:
		return "the container exits soon after it starts: read its logs with kubectl logs"
	case fault.StatusCheckUnschedulable:
		return "no node can take the pod: check its resource requests, node selectors and tolerations"
	case fault.StatusCheckProgressDeadline:
		return "the rollout stopped making progress: kubectl describe the Deployment and its pods"
	}
	return "raise deploy.statusCheckDeadlineSeconds, or kubectl describe the resource to see why it is not ready"
}

// follow sends the resource every time it changes, re-watching when the
// API server ends a watch.
func (w *watcher) follow(ctx context.Context, out chan<- runtime.Object) error {
	return relay(ctx, out,
		func(ctx context.Context) ([]runtime.Object, string, error) {
			obj, rv, err := w.get(ctx)
			return []runtime.Object{obj}, rv, err
		},
		w.watch,
		func(ev watch.Event) runtime.Object { return ev.Object })
}

// relay sends what list returns, then what a watch from its resource
// version reports, and lists again whenever the API server ends the watch,
// until ctx is done.
func relay[T any](ctx context.Context, out chan<- T, list func(context.Context) ([]T, string, error),
	watchFrom func(ctx context.Context, rv string) (watch.Interface, error), of func(watch.Event) T) error {
	send := func(v T) error {
		select {
		case out <- v:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		items, rv, err := list(ctx)
		if err != nil {
			return err
		}
		for _, v := range items {
			if err := send(v); err != nil {
				return err
			}
		}
		wi, err := watchFrom(ctx, rv)
		if err != nil {
			return err
		}
		for ev := range wi.ResultChan() {
			if ev.Type == watch.Error {
				break
			}
			if err := send(of(ev)); err != nil {
				wi.Stop()
				return err
			}
		}
		wi.Stop()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (w *watcher) get(ctx context.Context) (runtime.Object, string, error) {
	ns, name, opts := w.r.Namespace, w.r.Name, metav1.GetOptions{}
	var obj interface {
		runtime.Object
		GetResourceVersion() string
	}
	var err error
	switch w.r.Kind {
	case "Deployment":
		obj, err = w.client.AppsV1().Deployments(ns).Get(ctx, name, opts)
	case "StatefulSet":
		obj, err = w.client.AppsV1().StatefulSets(ns).Get(ctx, name, opts)
	case "DaemonSet":
		obj, err = w.client.AppsV1().DaemonSets(ns).Get(ctx, name, opts)
	default:
		obj, err = w.client.CoreV1().Pods(ns).Get(ctx, name, opts)
	}
	if err != nil {
		return nil, "", err
	}
	return obj, obj.GetResourceVersion(), nil
}

func (w *watcher) watch(ctx context.Context, rv string) (watch.Interface, error) {
	ns := w.r.Namespace
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", w.r.Name).String(), ResourceVersion: rv}
	switch w.r.Kind {
	case "Deployment":
		return w.client.AppsV1().Deployments(ns).Watch(ctx, opts)
	case "StatefulSet":
		return w.client.AppsV1().StatefulSets(ns).Watch(ctx, opts)
	case "DaemonSet":
		return w.client.AppsV1().DaemonSets(ns).Watch(ctx, opts)
	}
	return w.client.CoreV1().Pods(ns).Watch(ctx, opts)
}

// followPods sends the events of the workload's pods.
func (w *watcher) followPods(ctx context.Context, out chan<- watch.Event) error {
	pods := w.client.CoreV1().Pods(w.r.Namespace)
	return relay(ctx, out,
		func(ctx context.Context) ([]watch.Event, string, error) {
			list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: w.selector.String()})
			if err != nil {
				return nil, "", err
			}
			evs := make([]watch.Event, len(list.Items))
			for i := range list.Items {
				evs[i] = watch.Event{Type: watch.Added, Object: &list.Items[i]}
			}
			return evs, list.ResourceVersion, nil
		},
		func(ctx context.Context, rv string) (watch.Interface, error) {
			return pods.Watch(ctx, metav1.ListOptions{LabelSelector: w.selector.String(), ResourceVersion: rv})
		},
		func(ev watch.Event) watch.Event { return ev })
}

func selectorOf(obj runtime.Object) labels.Selector {
	var ls *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		ls = o.Spec.Selector
	case *appsv1.StatefulSet:
		ls = o.Spec.Selector
	case *appsv1.DaemonSet:
		ls = o.Spec.Selector
	}
	if ls == nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil
	}
	return sel
}

// evaluate tells whether the resource is ready, failed for good, or how it
// progresses, following kubectl rollout status.
func (w *watcher) evaluate() (done bool, msg string, failure error) {
	switch o := w.obj.(type) {
	case *appsv1.Deployment:
		return w.deployment(o)
	case *appsv1.StatefulSet:
		return w.withPods(statefulSet(o))
	case *appsv1.DaemonSet:
		return w.withPods(daemonSet(o))
	case *corev1.Pod:
		w.pods = map[string]*corev1.Pod{o.Name: o}
		return w.pod(o)
	}
	return false, "waiting", nil
}

func (w *watcher) withPods(done bool, msg string) (bool, string, error) {
	if !done {
		if _, reason := w.podReason(); reason != "" {
			msg += ": " + reason
		}
	}
	return done, msg, nil
}

func (w *watcher) deployment(d *appsv1.Deployment) (bool, string, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return false, "waiting for the rollout to start", nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, "", fault.New(fault.StatusCheckProgressDeadline,
				fmt.Sprintf("%s: ProgressDeadlineExceeded: %s", w.id(), c.Message), suggestion(fault.StatusCheckProgressDeadline))
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case st.UpdatedReplicas < want:
		return w.withPods(false, fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want))
	case st.Replicas > st.UpdatedReplicas:
		return w.withPods(false, fmt.Sprintf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas))
	case st.AvailableReplicas < st.UpdatedReplicas:
		return w.withPods(false, fmt.Sprintf("%d of %d updated replicas available", st.AvailableReplicas, st.UpdatedReplicas))
	}
	return true, fmt.Sprintf("rolled out: %d of %d replicas available", st.AvailableReplicas, want), nil
}

func statefulSet(s *appsv1.StatefulSet) (bool, string) {
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	st := s.Status
	switch {
	case s.Generation > st.ObservedGeneration:
		return false, "waiting for the rollout to start"
	case st.ReadyReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want)
	case s.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		(s.Spec.UpdateStrategy.RollingUpdate == nil || s.Spec.UpdateStrategy.RollingUpdate.Partition == nil) &&
		st.UpdateRevision != st.CurrentRevision:
		return false, fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want)
	}
	return true, fmt.Sprintf("rolled out: %d of %d replicas ready", st.ReadyReplicas, want)
}

func daemonSet(d *appsv1.DaemonSet) (bool, string) {
	st := d.Status
	switch {
	case d.Generation > st.ObservedGeneration:
		return false, "waiting for the rollout to start"
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return false, fmt.Sprintf("%d of %d pods updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return false, fmt.Sprintf("%d of %d updated pods available", st.NumberAvailable, st.DesiredNumberScheduled)
	}
	return true, fmt.Sprintf("rolled out: %d pods available", st.NumberAvailable)
}

func (w *watcher) pod(p *corev1.Pod) (bool, string, error) {
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return true, "completed", nil
	case corev1.PodFailed:
		return false, "", fault.New(fault.StatusCheckFailed,
			fmt.Sprintf("%s failed: %s %s", w.id(), p.Status.Reason, p.Status.Message), "read its logs with kubectl logs")
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true, "ready", nil
		}
	}
	msg := "phase " + string(p.Status.Phase)
	if _, reason := w.podReason(); reason != "" {
		msg += ": " + reason
	}
	return false, msg, nil
}

// podsCatchUp is how long a workload that is done waits for its pods'
// watch to show them settled, before it is reported ready with its pods
// as last seen.
const podsCatchUp = 2 * time.Second

// podsSettled reports whether every pod of the workload, but those being
// deleted, is ready or has run to its end, as a workload that is done has
// them.
func (w *watcher) podsSettled() bool {
	for _, p := range w.pods {
		if p.DeletionTimestamp == nil && podState(p) != "ready" &&
			p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return false
		}
	}
	return true
}

// maxListed is how many pods a status message names.
const maxListed = 5

// podList names the workload's pods and where each stands, for its
// status messages ("; pods web-7d9c-abcde ready, web-7d9c-fghij
// ContainerCreating"): the first maxListed by name, then how many more.
// Pods being deleted are left out; nothing when there are none.
func (w *watcher) podList() string {
	names := make([]string, 0, len(w.pods))
	for n, p := range w.pods {
		if p.DeletionTimestamp == nil {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("; pods")
	for i, n := range names {
		if i == maxListed {
			fmt.Fprintf(&b, ", and %d more", len(names)-maxListed)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(" " + n + " " + podState(w.pods[n]))
	}
	return b.String()
}

// podState is where a pod stands, in a word: ready, the reason a container
// waits (ContainerCreating, CrashLoopBackOff, ...), or its phase.
func podState(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return "ready"
		}
	}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		if wt := cs.State.Waiting; wt != nil && wt.Reason != "" {
			return wt.Reason
		}
	}
	if p.Status.Phase == "" {
		return "pending"
	}
	return strings.ToLower(string(p.Status.Phase))
}

// podReason returns the most telling reason a pod of the resource is not
// ready, with its code: image pull errors, crash loops, unschedulable.
func (w *watcher) podReason() (fault.Code, string) {
	names := make([]string, 0, len(w.pods))
	for n := range w.pods {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := w.pods[n]
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return fault.StatusCheckUnschedulable, fmt.Sprintf("pod %s: Unschedulable: %s", p.Name, c.Message)
			}
		}
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			wt := cs.State.Waiting
			if wt == nil {
				continue
			}
			switch wt.Reason {
			case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull":
				return fault.StatusCheckImagePull, fmt.Sprintf("pod %s container %s: %s: %s", p.Name, cs.Name, wt.Reason, strings.TrimSpace(wt.Message))
			case "CrashLoopBackOff", "RunContainerError", "CreateContainerConfigError", "CreateContainerError":
				msg := fmt.Sprintf("pod %s container %s: %s: %s", p.Name, cs.Name, wt.Reason, strings.TrimSpace(wt.Message))
				if last := cs.LastTerminationState.Terminated; last != nil {
					msg += fmt.Sprintf("; it last exited with code %d (%s)", last.ExitCode, last.Reason)
				}
				return fault.StatusCheckCrashLoop, msg
			}
		}
	}
	return "", ""
}
