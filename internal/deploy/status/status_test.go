package status

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
)

func ptr[T any](v T) *T { return &v }

func TestDeploymentStates(t *testing.T) {
	tests := []struct {
		name   string
		status appsv1.DeploymentStatus
		gen    int64
		done   bool
		code   fault.Code
	}{
		{"not observed", appsv1.DeploymentStatus{ObservedGeneration: 1}, 2, false, ""},
		{"updating", appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1, Replicas: 2}, 2, false, ""},
		{"old pending", appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, Replicas: 3, AvailableReplicas: 2}, 2, false, ""},
		{"unavailable", appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, Replicas: 2, AvailableReplicas: 1}, 2, false, ""},
		{"rolled out", appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, Replicas: 2, AvailableReplicas: 2}, 2, true, ""},
		{"progress deadline", appsv1.DeploymentStatus{ObservedGeneration: 2, Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded"}}}, 2, false, fault.StatusCheckProgressDeadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &watcher{r: deploy.Resource{Kind: "Deployment", Namespace: "ns", Name: "app"}, pods: map[string]*corev1.Pod{}}
			w.obj = &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: tt.gen}, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(2))}, Status: tt.status}
			done, msg, err := w.evaluate()
			if done != tt.done || (err == nil) != (tt.code == "") || (err != nil && fault.CodeOf(err) != tt.code) {
				t.Errorf("evaluate = %v, %q, %v", done, msg, err)
			}
		})
	}
}

func TestPodReasons(t *testing.T) {
	waiting := func(reason string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "c", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}}}}}
	}
	unschedulable := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available"}}}}
	tests := []struct {
		pod  *corev1.Pod
		code fault.Code
	}{
		{waiting("ImagePullBackOff"), fault.StatusCheckImagePull},
		{waiting("ErrImagePull"), fault.StatusCheckImagePull},
		{waiting("CrashLoopBackOff"), fault.StatusCheckCrashLoop},
		{waiting("ContainerCreating"), ""},
		{unschedulable, fault.StatusCheckUnschedulable},
	}
	for _, tt := range tests {
		w := &watcher{r: deploy.Resource{Kind: "Deployment", Namespace: "ns", Name: "app"}, pods: map[string]*corev1.Pod{"p": tt.pod}}
		if code, reason := w.podReason(); code != tt.code {
			t.Errorf("podReason = %s %q, want %s", code, reason, tt.code)
		}
		// Without tolerateFailuresUntilDeadline, image pull errors and crash
		// loops end the check at once; an unschedulable pod waits for a node.
		err := w.lasting()
		switch tt.code {
		case fault.StatusCheckImagePull, fault.StatusCheckCrashLoop:
			if f := fault.As(err); f == nil || f.Code != tt.code || len(f.Suggestions) == 0 {
				t.Errorf("lasting = %v, want %s with a suggestion", err, tt.code)
			}
		default:
			if err != nil {
				t.Errorf("lasting = %v, want none: waiting may mend it", err)
			}
		}
	}
}

func TestCrashLoopNamesTheLastExit(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name:                 "c",
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}},
	}}}}
	w := &watcher{pods: map[string]*corev1.Pod{"p": p}}
	_, reason := w.podReason()
	if want := "pod p container c: CrashLoopBackOff: back-off 10s restarting failed container; it last exited with code 3 (Error)"; reason != want {
		t.Errorf("reason = %q\nwant     %q", reason, want)
	}
}

func TestPodList(t *testing.T) {
	ready := corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	creating := corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
		{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}
	pod := func(name string, st corev1.PodStatus, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: st}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{}
		}
		return p
	}
	tests := []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"none", nil, ""},
		{"one ready", []*corev1.Pod{pod("web-a", ready, false)}, "; pods web-a ready"},
		{"by name, deleting left out", []*corev1.Pod{pod("web-b", creating, false), pod("web-a", ready, false), pod("web-old", ready, true)},
			"; pods web-a ready, web-b ContainerCreating"},
		{"no status yet", []*corev1.Pod{pod("web-a", corev1.PodStatus{}, false)}, "; pods web-a pending"},
		{"more than five", []*corev1.Pod{pod("p1", ready, false), pod("p2", ready, false), pod("p3", ready, false),
			pod("p4", ready, false), pod("p5", ready, false), pod("p6", creating, false), pod("p7", creating, false)},
			"; pods p1 ready, p2 ready, p3 ready, p4 ready, p5 ready, and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &watcher{pods: map[string]*corev1.Pod{}}
			for _, p := range tt.pods {
				w.pods[p.Name] = p
			}
			if got := w.podList(); got != tt.want {
				t.Errorf("podList() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReadyWaitsForItsPods gives a Deployment that is done before the
// watch of its pods shows them ready, as the API server may: the check
// reports it ready once the pods' watch catches up, naming them ready; and
// if the pods' watch says nothing more, after podsCatchUp, naming them as
// last seen.
func TestReadyWaitsForItsPods(t *testing.T) {
	for _, catchUp := range []bool{true, false} {
		t.Run(fmt.Sprintf("catches up=%t", catchUp), func(t *testing.T) {
			labels := map[string]string{"app": "api"}
			dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "ns"},
				Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}}}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: "ns", Labels: labels},
				Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
					{Name: "api", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}}
			client := fake.NewClientset(dep, pod)
			deps, pods := watch.NewFake(), watch.NewFake()
			client.PrependWatchReactor("deployments", k8stesting.DefaultWatchReactor(deps, nil))
			client.PrependWatchReactor("pods", k8stesting.DefaultWatchReactor(pods, nil))
			updates := make(chan Update, 16)
			done := make(chan error, 1)
			go func() {
				done <- Check(t.Context(), client, []deploy.Resource{{Kind: "Deployment", Namespace: "ns", Name: "api"}},
					Options{Deadline: time.Minute}, func(u Update) { updates <- u })
			}()
			for u := range updates {
				if u.State != InProgress {
					t.Fatalf("update %+v, want the rollout in progress", u)
				}
				if strings.Contains(u.Message, "api-1 ContainerCreating") {
					break // the pods' watch has the pod
				}
			}
			dep = dep.DeepCopy()
			dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
			deps.Modify(dep)
			want := "api-1 ContainerCreating"
			if catchUp {
				select {
				case u := <-updates:
					t.Fatalf("update %+v before the pods' watch caught up", u)
				case <-time.After(100 * time.Millisecond):
				}
				pod = pod.DeepCopy()
				pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
				pods.Modify(pod)
				want = "api-1 ready"
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if u := <-updates; u.State != Ready || !strings.HasSuffix(u.Message, want) {
				t.Errorf("last update %+v, want ready with %q", u, want)
			}
		})
	}
}
