package portforward

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// pod is a running pod of app web, created at t0 plus age seconds, with a
// container web that declares 8080 as http and 9090 as metrics.
func pod(name string, age int, isReady bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if isReady {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"},
			CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second))},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "sidecar"},
			{Name: "web", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}},
		}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func service(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: ports}}
}

func TestResolve(t *testing.T) {
	headless := service("headless", corev1.ServicePort{Port: 8080, TargetPort: intstr.FromInt32(1234)})
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	noSelector := service("external", corev1.ServicePort{Port: 80})
	noSelector.Spec.Selector = nil
	deployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	objects := []runtime.Object{
		pod("web-1", 0, true),
		service("by-number", corev1.ServicePort{Name: "web", Port: 80, TargetPort: intstr.FromInt32(8080)}),
		service("by-name", corev1.ServicePort{Name: "web", Port: 80, TargetPort: intstr.FromString("http")},
			corev1.ServicePort{Name: "other", Port: 81, TargetPort: intstr.FromString("nope")}),
		service("no-target", corev1.ServicePort{Port: 9090}),
		headless, noSelector, deployment,
	}
	tests := []struct {
		name string
		t    Target
		want endpoint
		// problem is the kind of problem, and message part of its text.
		problem, message string
	}{
		{name: "a Service's port goes to its targetPort",
			t: Target{Type: Service, Name: "by-number", Port: intstr.FromInt32(80)}, want: endpoint{"web-1", "web", 8080}},
		{name: "a Service's port by name",
			t: Target{Type: Service, Name: "by-number", Port: intstr.FromString("web")}, want: endpoint{"web-1", "web", 8080}},
		{name: "a named targetPort is the pod's port of that name",
			t: Target{Type: Service, Name: "by-name", Port: intstr.FromInt32(80)}, want: endpoint{"web-1", "web", 8080}},
		{name: "no targetPort is the Service's port",
			t: Target{Type: Service, Name: "no-target", Port: intstr.FromInt32(9090)}, want: endpoint{"web-1", "web", 9090}},
		{name: "a headless Service's port is the pod's",
			t: Target{Type: Service, Name: "headless", Port: intstr.FromInt32(8080)}, want: endpoint{"web-1", "web", 8080}},
		{name: "a pod's port by number",
			t: Target{Type: Pod, Name: "web-1", Port: intstr.FromInt32(9090)}, want: endpoint{"web-1", "web", 9090}},
		{name: "a port no container declares",
			t: Target{Type: Pod, Name: "web-1", Port: intstr.FromInt32(7000)}, want: endpoint{"web-1", "", 7000}},
		{name: "a deployment's port by name",
			t: Target{Type: Deployment, Name: "web", Port: intstr.FromString("metrics")}, want: endpoint{"web-1", "web", 9090}},

		{name: "a Service that does not exist",
			t:       Target{Type: Service, Name: "nope", Port: intstr.FromInt32(80)},
			problem: missing, message: `there is no service "nope" in namespace ns`},
		{name: "a deployment that does not exist",
			t:       Target{Type: Deployment, Name: "nope", Port: intstr.FromInt32(80)},
			problem: missing, message: `there is no deployment "nope"`},
		{name: "a Service's targetPort, not its port",
			t:       Target{Type: Service, Name: "by-name", Port: intstr.FromInt32(8080)},
			problem: badPort, message: `service "by-name" has no port 8080`},
		{name: "a named targetPort the pod lacks",
			t:       Target{Type: Service, Name: "by-name", Port: intstr.FromString("other")},
			problem: badPort, message: `no port named "nope"`},
		{name: "a container port name the pod lacks",
			t:       Target{Type: Pod, Name: "web-1", Port: intstr.FromString("grpc")},
			problem: badPort, message: `no port named "grpc"`},
		{name: "a Service without a selector",
			t:       Target{Type: Service, Name: "external", Port: intstr.FromInt32(80)},
			problem: noSelect, message: "selects no pods"},
		{name: "a cronjob",
			t:       Target{Type: "cronjob", Name: "nightly", Port: intstr.FromInt32(80)},
			problem: missing, message: "cannot forward a cronjob"},
	}
	client := fake.NewClientset(objects...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.t.Namespace = "ns"
			got, err := resolve(t.Context(), client, tt.t, "")
			if tt.problem != "" {
				p, ok := err.(*problem)
				if !ok || p.kind != tt.problem || !strings.Contains(p.msg, tt.message) || p.hint == "" {
					t.Fatalf("resolve = %v, %v; want a %s problem with %q and a hint", got, err, tt.problem, tt.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestResolveWithoutARunningPod(t *testing.T) {
	pending := pod("web-1", 0, false)
	pending.Status.Phase = corev1.PodPending
	client := fake.NewClientset(service("web", corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080)}), pending)
	_, err := resolve(t.Context(), client, Target{Type: Service, Name: "web", Namespace: "ns", Port: intstr.FromInt32(80)}, "")
	if p, ok := err.(*problem); !ok || p.kind != noPod {
		t.Errorf("resolve = %v, want no running pod", err)
	}
}

func TestChoose(t *testing.T) {
	deleting := pod("deleting", 9, true)
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	failed := pod("failed", 9, true)
	failed.Status.Phase = corev1.PodFailed
	tests := []struct {
		name    string
		pods    []*corev1.Pod
		current string
		want    string
	}{
		{"none", nil, "", ""},
		{"the newest ready pod", []*corev1.Pod{pod("old", 0, true), pod("new", 5, true), pod("newer-unready", 9, false)}, "", "new"},
		{"the current pod while it is ready", []*corev1.Pod{pod("old", 0, true), pod("new", 5, true)}, "old", "old"},
		{"a ready pod before the current unready one", []*corev1.Pod{pod("old", 0, false), pod("new", 5, true)}, "old", "new"},
		{"an unready running pod when no pod is ready", []*corev1.Pod{pod("old", 0, false), pod("new", 5, false)}, "", "new"},
		{"not a pod being deleted, nor one that ended", []*corev1.Pod{pod("old", 0, true), deleting, failed}, "deleting", "old"},
		{"nothing when every pod is going", []*corev1.Pod{deleting, failed}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pods []corev1.Pod
			for _, p := range tt.pods {
				pods = append(pods, *p)
			}
			got := ""
			if p := choose(pods, tt.current); p != nil {
				got = p.Name
			}
			if got != tt.want {
				t.Errorf("choose = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPortsOfAResource(t *testing.T) {
	udp := service("dns", corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP}, corev1.ServicePort{Port: 5353})
	deployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: pod("x", 0, true).Spec}}}
	client := fake.NewClientset(udp, deployment)
	for _, tt := range []struct {
		t    Target
		want []intstr.IntOrString
	}{
		{Target{Type: Service, Name: "dns", Namespace: "ns"}, []intstr.IntOrString{intstr.FromInt32(5353)}},
		{Target{Type: Deployment, Name: "web", Namespace: "ns"}, []intstr.IntOrString{intstr.FromInt32(8080), intstr.FromInt32(9090)}},
	} {
		got, err := ports(t.Context(), client, tt.t)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.want) {
			t.Fatalf("ports of %s = %v, want %v", tt.t.Name, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ports of %s = %v, want %v", tt.t.Name, got, tt.want)
			}
		}
	}
}
