package portforward

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
)

// DefaultAddress is the local address a forward listens on unless its
// portForward entry names another.
const DefaultAddress = "127.0.0.1"

// The resource types a forward follows, as portForward's resourceType
// names them.
const (
	Pod         = "pod"
	Service     = "service"
	Deployment  = "deployment"
	StatefulSet = "statefulset"
	ReplicaSet  = "replicaset"
	DaemonSet   = "daemonset"
	Job         = "job"
)

// kinds are the resource types by Kubernetes kind.
var kinds = map[string]string{"Pod": Pod, "Service": Service, "Deployment": Deployment, "StatefulSet": StatefulSet,
	"ReplicaSet": ReplicaSet, "DaemonSet": DaemonSet, "Job": Job}

// Target is one port to forward: a port of a resource in the cluster, and
// the local address to listen on.
type Target struct {
	// Type is pod, service, deployment, statefulset, replicaset, daemonset
	// or job.
	Type      string
	Name      string
	Namespace string
	// Port is a Service's port, or a container port of the pods of the
	// other types: a number or a name. Unset, the target stands for every
	// port of the resource (the services and pods modes), each forwarded
	// on its own.
	Port intstr.IntOrString
	// Address is the local address to listen on.
	Address string
	// LocalPort is the local port wanted: 0 takes Port's number when it is
	// 1024 or more. When the port is taken, the next free one is used.
	LocalPort int
	// User is set for the config's entries, whose problems the user is
	// told about.
	User bool
}

// key names a target: a second target of the same resource and port (the
// services mode finding a Service the config forwards already) is the
// same forward.
func (t Target) key() string {
	return strings.Join([]string{t.Type, t.Namespace, t.Name, t.Port.String()}, "/")
}

// sameResource reports whether t and o are ports of one resource.
func (t Target) sameResource(o Target) bool {
	return t.Type == o.Type && t.Namespace == o.Namespace && t.Name == o.Name
}

// String names the target as the user would: service/web in namespace ns,
// port 80.
func (t Target) String() string {
	return fmt.Sprintf("%s/%s in namespace %s, port %s", t.Type, t.Name, t.Namespace, t.Port.String())
}

// allPorts reports whether the target stands for every port of its
// resource.
func (t Target) allPorts() bool { return t.Port == (intstr.IntOrString{}) }

// Targets are what the modes forward after a deploy: the config's
// portForward entries first (their local ports are chosen first), then
// the Services deployed, then the workloads deployed, with every port.
// Entries name their namespace or are in namespace, the deploy's; those of
// resourceType container belong to the Docker deployer, which publishes
// them itself. A resource named twice is forwarded once.
func Targets(m Modes, entries []*config.PortForward, namespace string, deployed []deploy.Resource) []Target {
	var out []Target
	seen := map[string]bool{}
	add := func(t Target) {
		if k := t.key(); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	if m.User {
		for _, e := range entries {
			typ := strings.ToLower(e.Type)
			if typ == config.ContainerPortType {
				continue
			}
			t := Target{Type: typ, Name: e.Name, Namespace: e.Namespace, Address: e.Address, LocalPort: e.LocalPort, User: true}
			if e.Port.Str != "" {
				t.Port = intstr.FromString(e.Port.Str)
			} else {
				t.Port = intstr.FromInt32(int32(e.Port.Int))
			}
			if t.Namespace == "" {
				t.Namespace = namespace
			}
			if t.Address == "" {
				t.Address = DefaultAddress
			}
			add(t)
		}
	}
	for _, r := range deployed {
		typ := kinds[r.Kind]
		if typ == "" || r.Group != groupOf(typ) {
			continue
		}
		ns := r.Namespace
		if ns == "" {
			ns = namespace
		}
		if (typ == Service && m.Services) || (typ != Service && m.Pods) {
			add(Target{Type: typ, Name: r.Name, Namespace: ns, Address: DefaultAddress})
		}
	}
	// The workloads after the Services, as Skaffold orders them.
	slices.SortStableFunc(out, func(a, b Target) int {
		rank := func(t Target) int {
			switch {
			case t.User:
				return 0
			case t.Type == Service:
				return 1
			}
			return 2
		}
		return rank(a) - rank(b)
	})
	return out
}

// groupOf is the API group of a resource type.
func groupOf(typ string) string {
	switch typ {
	case Pod, Service:
		return ""
	case Job:
		return "batch"
	}
	return "apps"
}
