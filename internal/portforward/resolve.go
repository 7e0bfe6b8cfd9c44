package portforward

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// endpoint is where the connections of a forward go: a port of a pod.
type endpoint struct {
	Pod string
	// Container declares Port, when one does.
	Container string
	Port      int32
}

// problem is why a target has no endpoint now. The forward keeps trying;
// the user is told once, with hint.
type problem struct {
	// kind groups problems the user is told about once: missing, port,
	// selector, pod.
	kind string
	msg  string
	hint string
}

func (p *problem) Error() string { return p.msg }

// lasting tells whether waiting a few seconds will not mend the problem:
// the resource or its port is missing, or it selects no pods, which only
// another deploy (or the user) changes. A pod that does not run yet, or
// that cannot be reached now, may do so in a moment.
func (p *problem) lasting() bool {
	return p.kind == missing || p.kind == badPort || p.kind == noSelect
}

// The kinds of problem.
const (
	missing  = "missing"  // the resource does not exist
	badPort  = "port"     // it has no such port
	noSelect = "selector" // it selects no pods by labels
	noPod    = "pod"      // no pod of it runs
	// unreachable is a pod the API server would not connect to.
	unreachable = "unreachable"
)

// resolve finds where connections to t go now: a running pod of the
// resource (a ready one first; current, the pod they went to so far, while
// it stays one of the best) and the pod's port, resolved as kubectl
// port-forward does: a Service's port to its targetPort, by name in the
// pod when it is named; a name to the container port of that name.
func resolve(ctx context.Context, client kubernetes.Interface, t Target, current string) (endpoint, error) {
	var svc *corev1.Service
	var pods []corev1.Pod
	switch t.Type {
	case Pod:
		p, err := client.CoreV1().Pods(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return endpoint{}, notFound(t, err)
		}
		pods = []corev1.Pod{*p}
	default:
		sel, s, err := selector(ctx, client, t)
		if err != nil {
			return endpoint{}, err
		}
		svc = s
		list, err := client.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return endpoint{}, err
		}
		pods = list.Items
	}
	pod := choose(pods, current)
	if pod == nil {
		return endpoint{}, &problem{kind: noPod, msg: fmt.Sprintf("%s/%s has no running pod", t.Type, t.Name),
			hint: "the forward starts when one runs; kubectl get pods -n " + t.Namespace + " shows why none does"}
	}
	port, err := podPort(t, svc, pod)
	if err != nil {
		return endpoint{}, err
	}
	return endpoint{Pod: pod.Name, Container: declaring(pod, port), Port: port}, nil
}

// notFound turns a NotFound error of the API into a missing resource.
func notFound(t Target, err error) error {
	if apierrors.IsNotFound(err) {
		return &problem{kind: missing, msg: fmt.Sprintf("there is no %s %q in namespace %s", t.Type, t.Name, t.Namespace),
			hint: "check portForward's resourceType, resourceName and namespace against what the manifests deploy; the forward starts if it appears"}
	}
	return err
}

// selector reads the resource of t and returns the labels of its pods,
// and the Service itself when t is one.
func selector(ctx context.Context, client kubernetes.Interface, t Target) (labels.Selector, *corev1.Service, error) {
	if t.Type == Service {
		s, err := client.CoreV1().Services(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, notFound(t, err)
		}
		if len(s.Spec.Selector) == 0 {
			return nil, nil, &problem{kind: noSelect, msg: fmt.Sprintf("service %q selects no pods", t.Name),
				hint: "a Service without a selector cannot be forwarded: forward its pods' workload instead"}
		}
		return labels.SelectorFromSet(s.Spec.Selector), s, nil
	}
	ls, _, err := workload(ctx, client, t)
	if err != nil {
		return nil, nil, notFound(t, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil || sel.Empty() {
		return nil, nil, &problem{kind: noSelect, msg: fmt.Sprintf("%s/%s has no pod selector", t.Type, t.Name), hint: "forward its pods instead"}
	}
	return sel, nil, nil
}

// choose picks the pod connections go to: a running pod that is not being
// deleted, a ready one before one that is not, current while it is one of
// the best, else the newest.
func choose(pods []corev1.Pod, current string) *corev1.Pod {
	var best *corev1.Pod
	better := func(p, than *corev1.Pod) bool {
		if r1, r2 := ready(p), ready(than); r1 != r2 {
			return r1
		}
		if (p.Name == current) != (than.Name == current) {
			return p.Name == current
		}
		if c := p.CreationTimestamp.Compare(than.CreationTimestamp.Time); c != 0 {
			return c > 0
		}
		return p.Name < than.Name
	}
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		if best == nil || better(p, best) {
			best = p
		}
	}
	return best
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podPort is the port of pod that t's port stands for.
func podPort(t Target, svc *corev1.Service, pod *corev1.Pod) (int32, error) {
	if svc == nil {
		if t.Port.Type == intstr.Int {
			return t.Port.IntVal, nil
		}
		return namedPort(t, pod, t.Port.StrVal)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
		if t.Port.Type == intstr.Int {
			return p.Port == t.Port.IntVal
		}
		return p.Name == t.Port.StrVal
	})
	if i < 0 {
		var have []string
		for _, p := range svc.Spec.Ports {
			have = append(have, portText(p.Port, p.Name))
		}
		return 0, &problem{kind: badPort, msg: fmt.Sprintf("service %q has no port %s", svc.Name, t.Port.String()),
			hint: "its ports are " + strings.Join(have, ", ") + "; portForward's port is the Service's port, not its targetPort"}
	}
	sp := svc.Spec.Ports[i]
	switch {
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		// A headless Service's port is the pods' port.
		return sp.Port, nil
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		return namedPort(t, pod, sp.TargetPort.StrVal)
	case sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal, nil
	}
	return sp.Port, nil
}

// namedPort is the container port of pod named name.
func namedPort(t Target, pod *corev1.Pod, name string) (int32, error) {
	var have []string
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.Name == name {
					return p.ContainerPort, nil
				}
				have = append(have, portText(p.ContainerPort, p.Name))
			}
		}
	}
	hint := "its containers declare no ports"
	if len(have) > 0 {
		hint = "its containers declare " + strings.Join(have, ", ")
	}
	return 0, &problem{kind: badPort, msg: fmt.Sprintf("pod %s of %s/%s has no port named %q", pod.Name, t.Type, t.Name, name), hint: hint}
}

func portText(port int32, name string) string {
	if name == "" {
		return strconv.Itoa(int(port))
	}
	return fmt.Sprintf("%d (%s)", port, name)
}

// declaring is the container of pod that declares port, or "".
func declaring(pod *corev1.Pod, port int32) string {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.ContainerPort == port && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
					return c.Name
				}
			}
		}
	}
	return ""
}

// workload reads the workload of t: its pod selector and its pods'
// template.
func workload(ctx context.Context, client kubernetes.Interface, t Target) (*metav1.LabelSelector, *corev1.PodSpec, error) {
	apps, get := client.AppsV1(), metav1.GetOptions{}
	switch t.Type {
	case Deployment:
		o, err := apps.Deployments(t.Namespace).Get(ctx, t.Name, get)
		if err != nil {
			return nil, nil, err
		}
		return o.Spec.Selector, &o.Spec.Template.Spec, nil
	case StatefulSet:
		o, err := apps.StatefulSets(t.Namespace).Get(ctx, t.Name, get)
		if err != nil {
			return nil, nil, err
		}
		return o.Spec.Selector, &o.Spec.Template.Spec, nil
	case ReplicaSet:
		o, err := apps.ReplicaSets(t.Namespace).Get(ctx, t.Name, get)
		if err != nil {
			return nil, nil, err
		}
		return o.Spec.Selector, &o.Spec.Template.Spec, nil
	case DaemonSet:
		o, err := apps.DaemonSets(t.Namespace).Get(ctx, t.Name, get)
		if err != nil {
			return nil, nil, err
		}
		return o.Spec.Selector, &o.Spec.Template.Spec, nil
	case Job:
		o, err := client.BatchV1().Jobs(t.Namespace).Get(ctx, t.Name, get)
		if err != nil {
			return nil, nil, err
		}
		return o.Spec.Selector, &o.Spec.Template.Spec, nil
	}
	return nil, nil, &problem{kind: missing, msg: fmt.Sprintf("hoist cannot forward a %s", t.Type),
		hint: "forward a pod, service, deployment, statefulset, replicaset, daemonset or job"}
}

// ports are the TCP ports that a target standing for every port of its
// resource is forwarded on: a Service's ports, or the container ports of
// a pod or of a workload's pod template.
func ports(ctx context.Context, client kubernetes.Interface, t Target) ([]intstr.IntOrString, error) {
	var out []intstr.IntOrString
	tcp := func(p corev1.Protocol) bool { return p == "" || p == corev1.ProtocolTCP }
	var spec *corev1.PodSpec
	switch t.Type {
	case Service:
		s, err := client.CoreV1().Services(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		for _, p := range s.Spec.Ports {
			if tcp(p.Protocol) {
				out = append(out, intstr.FromInt32(p.Port))
			}
		}
		return out, nil
	case Pod:
		p, err := client.CoreV1().Pods(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		spec = &p.Spec
	default:
		_, s, err := workload(ctx, client, t)
		if err != nil {
			return nil, err
		}
		spec = s
	}
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if tcp(p.Protocol) {
				out = append(out, intstr.FromInt32(p.ContainerPort))
			}
		}
	}
	return out, nil
}
