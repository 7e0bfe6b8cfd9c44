package portforward

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// settledWithin reports whether ch is closed within d.
func settledWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// reported drains the portEvents published so far.
func (tf *testForwarder) reported() []string {
	var out []string
	for {
		select {
		case e := <-tf.events:
			out = append(out, e.ResourceName+"->"+e.Pod)
		default:
			return out
		}
	}
}

// pending is a pod that the scheduler has not placed yet.
func pending(name string) *corev1.Pod {
	p := pod(name, 0, false)
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
	return p
}

func webTarget(name string, port int32) Target {
	return Target{Type: Service, Name: name, Namespace: "ns", Port: intstr.FromInt32(port), Address: "127.0.0.1", User: true}
}

// An Update settles once the portEvent of each of its forwards is
// published, or once a forward has a problem that waiting will not mend.
func TestUpdateSettlesOnceItsForwardsAreReported(t *testing.T) {
	tests := []struct {
		name    string
		targets []Target
		// reported are the portEvents published when the Update settles.
		reported []string
	}{
		{name: "an established forward", targets: []Target{webTarget("web", 80)}, reported: []string{"web->web-1"}},
		{name: "a missing resource beside an established forward",
			targets: []Target{webTarget("nope", 80), webTarget("web", 80)}, reported: []string{"web->web-1"}},
		{name: "a port the resource does not have", targets: []Target{webTarget("web", 81)}},
		{name: "no targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tf := startForwarder(t, fake.NewClientset(webService(), pod("web-1", 0, true)))
			// A publisher that takes its time: the Update settles after
			// it, not before. (Set before the first Update, which hands
			// it to the forwards.)
			tf.Report = func(e *pb.PortEvent) {
				time.Sleep(200 * time.Millisecond)
				tf.events <- e
			}
			if !settledWithin(tf.update(tt.targets...), 10*time.Second) {
				t.Fatalf("the Update did not settle; told:\n%s", tf.out)
			}
			if got := tf.reported(); len(got) != len(tt.reported) || (len(got) > 0 && got[0] != tt.reported[0]) {
				t.Errorf("portEvents published when the Update settled: %v, want %v", got, tt.reported)
			}
		})
	}
}

// A forward whose pod does not run yet keeps its Update from settling
// until one runs; the next Update of the same forwards settles at once,
// with no portEvent, as nothing moved.
func TestUpdateWaitsForAPodToRun(t *testing.T) {
	tf := startForwarder(t, fake.NewClientset(webService(), pending("web-1")))
	first := tf.update(webTarget("web", 80))
	if settledWithin(first, 500*time.Millisecond) {
		t.Fatalf("settled with no running pod; portEvents %v", tf.reported())
	}
	tf.watching(t)
	if _, err := tf.client.CoreV1().Pods("ns").Create(t.Context(), pod("web-2", 5, true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !settledWithin(first, 10*time.Second) {
		t.Fatal("did not settle once a pod ran")
	}
	if got := tf.reported(); len(got) != 1 || got[0] != "web->web-2" {
		t.Errorf("portEvents when settled: %v, want web->web-2", got)
	}
	if !settledWithin(tf.update(webTarget("web", 80)), 5*time.Second) {
		t.Fatal("the Update of an established forward did not settle")
	}
	if got := tf.reported(); len(got) != 0 {
		t.Errorf("portEvents without a move: %v", got)
	}
}

// An Update that waits for a pod is settled by a later one that no longer
// forwards it.
func TestALaterUpdateSettlesAnEarlierOne(t *testing.T) {
	stuck := service("stuck", corev1.ServicePort{Port: 80})
	stuck.Spec.Selector = map[string]string{"app": "stuck"}
	tf := startForwarder(t, fake.NewClientset(webService(), stuck, pod("web-1", 0, true)))
	earlier := tf.update(webTarget("stuck", 80), webTarget("web", 80))
	if settledWithin(earlier, 500*time.Millisecond) {
		t.Fatal("settled with a forward that has no pod")
	}
	later := tf.update(webTarget("web", 80))
	for name, ch := range map[string]<-chan struct{}{"the later Update": later, "the earlier Update": earlier} {
		if !settledWithin(ch, 5*time.Second) {
			t.Errorf("%s did not settle", name)
		}
	}
}

// When Run returns, the Updates that have not settled are, and a later
// Update settles at once.
func TestUpdatesSettleWhenRunReturns(t *testing.T) {
	client := fake.NewClientset(webService(), pending("web-1"))
	f := &Forwarder{Report: func(*pb.PortEvent) {}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		f.Run(ctx)
		close(done)
	}()
	dial := (&fakePods{}).dial
	waiting := f.Update(client, dial, []Target{webTarget("web", 80)})
	if settledWithin(waiting, 300*time.Millisecond) {
		t.Fatal("settled with no running pod")
	}
	cancel()
	<-done
	if !settledWithin(waiting, time.Second) {
		t.Error("an Update waiting when Run returned is not settled")
	}
	if !settledWithin(f.Update(client, dial, []Target{webTarget("web", 80)}), time.Second) {
		t.Error("an Update after Run returned is not settled")
	}
}
