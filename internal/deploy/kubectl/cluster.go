package kubectl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/hoist-dev/hoist/internal/fault"
	"io"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// ClusterOptions choose the cluster and namespace, as kubectl's flags do.
type ClusterOptions struct {
	// Kubeconfig is --kubeconfig; empty means $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context is --kube-context; empty means the current context.
	Context string
	// Namespace is -n/--namespace, which wins over DefaultNamespace.
	Namespace string
	// DefaultNamespace is deploy.kubectl.defaultNamespace.
	DefaultNamespace string
}

// Cluster is a connection to the cluster of a kubeconfig context.
type Cluster struct {
	Context   string
	Server    string
	Namespace string
	Config    *rest.Config
	Typed     kubernetes.Interface
	Dynamic   dynamic.Interface
	Mapper    meta.RESTMapper
}

// CurrentContext is the kube context a deploy with kubeconfig and context
// (each may be empty) would use, without reaching the cluster: context when
// set, else the kubeconfig's current context ("" when it has none).
func CurrentContext(kubeconfig, context string) (string, error) {
	if context != "" {
		return context, nil
	}
	raw, err := clientConfig(kubeconfig, "").RawConfig()
	if err != nil {
		return "", err
	}
	return raw.CurrentContext, nil
}

// clientConfig is the kubeconfig (empty: $KUBECONFIG or ~/.kube/config)
// with context (empty: its current one) chosen.
func clientConfig(kubeconfig, context string) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
}

// Connect loads the kubeconfig, checks that the cluster answers, and
// resolves the namespace: the flag, then defaultNamespace, then the
// context's namespace, then "default".
func Connect(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	cc := clientConfig(o.Kubeconfig, o.Context)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fault.Wrap(err, fault.DeployKubeconfigInvalid, "reading the kubeconfig",
			"check --kubeconfig or $KUBECONFIG")
	}
	name := o.Context
	if name == "" {
		name = raw.CurrentContext
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fault.Wrap(err, fault.DeployKubeconfigInvalid,
			fmt.Sprintf("using kubeconfig context %q", name),
			"list contexts with kubectl config get-contexts, and choose one with --kube-context")
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "hoist"
	c := &Cluster{Context: name, Server: cfg.Host, Namespace: namespace(cc, o), Config: cfg}
	if c.Typed, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	probe := rest.CopyConfig(cfg)
	probe.Timeout = 10 * time.Second
	dc, err := discovery.NewDiscoveryClientForConfig(probe)
	if err != nil {
		return nil, err
	}
	if _, err := dc.ServerVersion(); err != nil {
		return nil, c.unreachable(err)
	}
	c.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return c, nil
}

// namespace is the namespace of objects that name none: the flag, then
// defaultNamespace, then the context's namespace, then "default".
func namespace(cc clientcmd.ClientConfig, o ClusterOptions) string {
	if o.Namespace != "" {
		return o.Namespace
	}
	if o.DefaultNamespace != "" {
		return o.DefaultNamespace
	}
	if ns, _, err := cc.Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// DefaultNamespace is the namespace Connect would resolve, read from the
// kubeconfig without reaching the cluster.
func DefaultNamespace(o ClusterOptions) (string, error) {
	cc := clientConfig(o.Kubeconfig, o.Context)
	if _, err := cc.RawConfig(); err != nil {
		return "", fault.Wrap(err, fault.DeployKubeconfigInvalid, "reading the kubeconfig",
			"check --kubeconfig or $KUBECONFIG, or render with --offline")
	}
	return namespace(cc, o), nil
}

func (c *Cluster) unreachable(err error) error {
	var uerr *url.Error
	var nerr net.Error
	msg := fmt.Sprintf("cannot reach the cluster of kubeconfig context %q at %s", c.Context, c.Server)
	if !errors.As(err, &uerr) && !errors.As(err, &nerr) {
		msg = fmt.Sprintf("the cluster of kubeconfig context %q at %s did not answer as a Kubernetes API server", c.Context, c.Server)
	}
	return fault.Wrap(err, fault.DeployClusterUnreachable, msg,
		"check that the cluster runs and that --kube-context or the current context points at it (make testenv starts one)")
}

// Exec runs command in a container of a pod, as kubectl exec -i does,
// with stdin as its input (nil for none) and its output (stdout and
// stderr) written to out. A command that exits with a failure is an error
// that says its exit status.
func (c *Cluster) Exec(ctx context.Context, namespace, pod, container string, command []string, stdin io.Reader, out io.Writer) error {
	req := c.Typed.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdin: stdin != nil, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: out, Stderr: out})
}
