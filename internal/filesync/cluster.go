package filesync

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/fault"
)

// Exec runs command in a container of a pod with stdin as its input (nil
// for none) and its output written to out, as kubectl exec -i does.
type Exec func(ctx context.Context, namespace, pod, container string, command []string, stdin io.Reader, out io.Writer) error

// Cluster syncs into the containers of a Kubernetes cluster.
type Cluster struct {
	Client kubernetes.Interface
	Exec   Exec
}

// Container is a running container that runs a built image.
type Container struct {
	Namespace, Pod, Name string
}

func (c Container) String() string { return c.Namespace + "/" + c.Pod + " container " + c.Name }

// Containers lists the running containers, in the namespaces given, whose
// image is the build's: its reference as deployed, its tag, or its digest.
// Pods are found by their image rather than by a label, so that every
// workload that runs the image gets the files, whatever created it.
func (c Cluster) Containers(ctx context.Context, namespaces []string, b build.Result) ([]Container, error) {
	var out []Container
	for _, ns := range namespaces {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
		if err != nil {
			return nil, fmt.Errorf("listing the pods of namespace %s: %w", ns, err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			for _, ct := range p.Spec.Containers {
				if runs(ct.Image, b) && running(p.Status.ContainerStatuses, ct.Name) {
					out = append(out, Container{Namespace: ns, Pod: p.Name, Name: ct.Name})
				}
			}
		}
	}
	return out, nil
}

func runs(image string, b build.Result) bool {
	return image == b.Reference() || image == b.Tag || (b.Digest != "" && strings.HasSuffix(image, "@"+b.Digest))
}

func running(statuses []corev1.ContainerStatus, name string) bool {
	i := slices.IndexFunc(statuses, func(s corev1.ContainerStatus) bool { return s.Name == name })
	return i >= 0 && statuses[i].State.Running != nil
}

// Sync copies the item's files into every running container of the build
// in namespaces, and deletes its deleted files there, all containers at
// once. It returns the containers it synced. No running container, or a
// copy that fails (the container went away, the image has no tar), is a
// SYNC_FAILED fault; the caller rebuilds.
func (c Cluster) Sync(ctx context.Context, namespaces []string, image string, b build.Result, it *Item) ([]Container, error) {
	targets, err := c.Containers(ctx, namespaces, b)
	if err != nil {
		return nil, fault.Wrap(err, fault.SyncFailed, fmt.Sprintf("finding the containers of %s", image), rebuildInstead)
	}
	if len(targets) == 0 {
		return nil, fault.New(fault.SyncFailed,
			fmt.Sprintf("no running container of %s runs %s in namespace %s", image, b.Reference(), strings.Join(namespaces, ", ")), rebuildInstead)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range targets {
		g.Go(func() error { return c.syncOne(gctx, t, image, it) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return targets, nil
}

const rebuildInstead = "hoist rebuilds the image instead"

func (c Cluster) syncOne(ctx context.Context, t Container, image string, it *Item) error {
	fail := func(err error, what string, out *bytes.Buffer, suggestions ...string) error {
		msg := fmt.Sprintf("%s %s in %s", what, image, t)
		if s := strings.TrimSpace(out.String()); s != "" {
			msg += ": " + lastLines(s, 5)
		}
		return fault.Wrap(err, fault.SyncFailed, msg, append([]string{rebuildInstead}, suggestions...)...)
	}
	if len(it.Copy) > 0 {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(WriteTar(pw, it.Copy)) }()
		var out bytes.Buffer
		err := c.Exec(ctx, t.Namespace, t.Pod, t.Name, []string{"tar", "-xmf", "-", "-C", "/"}, pr, &out)
		// Ends the writer if the exec stopped reading early.
		_ = pr.CloseWithError(io.ErrClosedPipe)
		if err != nil {
			return fail(err, fmt.Sprintf("copying %s into", count(len(it.Copy))), &out,
				"the image needs tar (busybox's will do) to be synced", "check that exec into its pods is allowed")
		}
	}
	if len(it.Delete) > 0 {
		var out bytes.Buffer
		if err := c.Exec(ctx, t.Namespace, t.Pod, t.Name, append([]string{"rm", "-rf", "--"}, it.Delete...), nil, &out); err != nil {
			return fail(err, fmt.Sprintf("deleting %s from", count(len(it.Delete))), &out)
		}
	}
	return nil
}

func count(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
