package podlogs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// logFiles serves each container's log whole, as a kubelet whose
// containers printed everything already: a follow stream ends at once.
type logFiles struct {
	mu    sync.Mutex
	logs  map[string]string // namespace/pod/container -> lines
	calls int
}

func (l *logFiles) Logs(_ context.Context, namespace, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	return io.NopCloser(strings.NewReader(l.logs[namespace+"/"+pod+"/"+o.Container])), nil
}

func podOf(ns, name string, phase corev1.PodPhase, init, containers []string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name),
		Labels: map[string]string{"hoist.dev/run-id": "run-1"}}}
	p.Status.Phase = phase
	for _, c := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: c})
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{Name: c, ContainerID: "id://" + name + c,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "id://" + name + c}}})
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		st := corev1.ContainerStatus{Name: c, ContainerID: "id://" + name + c, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
		if phase == corev1.PodSucceeded {
			st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: st.ContainerID}}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, st)
	}
	return p
}

func stamped(t0 time.Time, texts ...string) string {
	var b strings.Builder
	for i, s := range texts {
		fmt.Fprintf(&b, "%s %s\n", t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), s)
	}
	return b.String()
}

// The follower finds the run's pods in the namespaces it is given, as
// they come, follows every container, init containers too, and lets each
// line through once however often a stream is opened again; it stops
// following a pod once the pod has ended, and Run returns when its
// context is done.
func TestFollowerFollowsEveryContainerOfEveryPod(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	client := fake.NewClientset()
	src := &logFiles{logs: map[string]string{
		"a/web-1/setup": stamped(t0, "migrating", "migrated"),
		"a/web-1/app":   stamped(t0, "listening", "GET /"),
		"a/web-1/proxy": stamped(t0, "proxying"),
		"b/job-1/task":  stamped(t0, "done"),
		"a/web-2/app":   stamped(t0, "listening again"),
		"c/other/app":   stamped(t0, "not mine"),
	}}
	var mu sync.Mutex
	got := map[string][]string{}
	f := New(Options{Client: client, Source: src, Selector: "hoist.dev/run-id=run-1", Emit: func(l Line) {
		mu.Lock()
		defer mu.Unlock()
		k := l.Namespace + "/" + l.Pod + "/" + l.Container
		got[k] = append(got[k], l.Message)
	}})
	f.settle, f.minBackoff, f.maxBackoff = 20*time.Millisecond, time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		f.Run(ctx)
		close(done)
	}()
	create := func(p *corev1.Pod) {
		if _, err := client.CoreV1().Pods(p.Namespace).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.Follow("a")
	create(podOf("a", "web-1", corev1.PodRunning, []string{"setup"}, []string{"app", "proxy"}))
	// A namespace asked for later, with a pod that has ended.
	f.Follow("b", "a")
	create(podOf("b", "job-1", corev1.PodSucceeded, nil, []string{"task"}))
	// A pod of a namespace not asked for is not followed.
	create(podOf("c", "other", corev1.PodRunning, nil, []string{"app"}))
	// A pod created later, as a rollout creates one.
	time.Sleep(100 * time.Millisecond)
	create(podOf("a", "web-2", corev1.PodRunning, nil, []string{"app"}))

	want := map[string][]string{
		"a/web-1/setup": {"migrating", "migrated"},
		"a/web-1/app":   {"listening", "GET /"},
		"a/web-1/proxy": {"proxying"},
		"b/job-1/task":  {"done"},
		"a/web-2/app":   {"listening again"},
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		diff := cmp.Diff(want, got)
		mu.Unlock()
		if diff == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lines (-want +got):\n%s", diff)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The running containers' streams are opened again and again (each
	// ends at once here); their lines still come once.
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after streams opened again, lines (-want +got):\n%s", diff)
	}
	mu.Unlock()
	// A deleted pod is no longer followed.
	if err := client.CoreV1().Pods("a").Delete(t.Context(), "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	f.mu.Lock()
	_, still := f.pods["a/web-1"]
	f.mu.Unlock()
	if still {
		t.Error("a deleted pod is still known")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was done")
	}
}

func TestRestarts(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	for _, tt := range []struct {
		policy corev1.RestartPolicy
		c      corev1.Container
		init   bool
		code   int32
		want   bool
	}{
		{corev1.RestartPolicyAlways, corev1.Container{}, false, 0, true},
		{corev1.RestartPolicyOnFailure, corev1.Container{}, false, 0, false},
		{corev1.RestartPolicyOnFailure, corev1.Container{}, false, 1, true},
		{corev1.RestartPolicyNever, corev1.Container{}, false, 1, false},
		{corev1.RestartPolicyAlways, corev1.Container{}, true, 0, false},
		{corev1.RestartPolicyAlways, corev1.Container{}, true, 2, true},
		{corev1.RestartPolicyNever, corev1.Container{}, true, 2, false},
		{corev1.RestartPolicyNever, corev1.Container{RestartPolicy: &always}, true, 0, true},
	} {
		if got := restarts(tt.policy, tt.c, tt.init, tt.code); got != tt.want {
			t.Errorf("restarts(%s, sidecar %v, init %v, exit %d) = %v", tt.policy, tt.c.RestartPolicy != nil, tt.init, tt.code, got)
		}
	}
}
