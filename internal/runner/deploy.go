package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/status"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/hooks"
)

// Deploys runs the deploy phase and its status check.
type Deploys struct {
	Bus      *event.Bus
	Deployer deploy.Deployer
	// Name is the deployer's name in events: "kubectl".
	Name string
	// StatusCheck turns the status check on; Client and Deadline serve it.
	StatusCheck bool
	Check       status.Options
	Client      kubernetes.Interface

	// Hooks run before the deploy, and after it and its status check
	// succeed; their output goes to HookOut. Exec runs a container hook's
	// command in a container. RunID, KubeContext and Namespace are what
	// the hooks are told (SKAFFOLD_RUN_ID, ...), Namespace also where
	// pre-deploy container hooks look for pods.
	Hooks       *config.DeployHooks
	HookOut     io.Writer
	Exec        func(ctx context.Context, namespace, pod, container string, command []string, out io.Writer) error
	RunID       string
	KubeContext string
	Namespace   string
}

func (d *Deploys) publish(e *pb.DeployEvent) {
	e.Deployer = d.Name
	d.Bus.Publish(&pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: e}})
}

// Applied implements deploy.Reporter: one event per object.
func (d *Deploys) Applied(r deploy.Resource) {
	d.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{
		{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Action: r.Action}}})
}

// ended publishes the end of a deploy or delete.
func (d *Deploys) ended(ctx context.Context, files []string, err error) error {
	switch {
	case err == nil:
		d.publish(&pb.DeployEvent{Status: pb.Status_SUCCEEDED, Manifests: files})
	case ctx.Err() != nil:
		err = fault.Wrap(context.Cause(ctx), fault.Canceled, "deploy canceled")
		d.publish(&pb.DeployEvent{Status: pb.Status_CANCELED, Manifests: files, Error: ErrorOf(err)})
	default:
		d.publish(&pb.DeployEvent{Status: pb.Status_FAILED, Manifests: files, Error: ErrorOf(err)})
	}
	return err
}

// Fail reports a deploy that could not start.
func (d *Deploys) Fail(err error) error {
	d.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS})
	return d.ended(context.Background(), nil, err)
}

// Run deploys builds, then checks the status of what was applied.
func (d *Deploys) Run(ctx context.Context, builds []build.Result) error {
	d.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS})
	if d.Hooks != nil {
		if err := d.runHooks(ctx, "pre-deploy", d.Hooks.Before, nil); err != nil {
			return d.ended(ctx, nil, err)
		}
	}
	resources, files, err := d.Deployer.Deploy(ctx, builds, d)
	if err := d.ended(ctx, files, err); err != nil {
		return err
	}
	if d.StatusCheck {
		if err := d.check(ctx, resources); err != nil {
			return err
		}
	}
	if d.Hooks != nil {
		if err := d.runHooks(ctx, "post-deploy", d.Hooks.After, resources); err != nil {
			d.publish(&pb.DeployEvent{Status: pb.Status_FAILED, Manifests: files, Error: ErrorOf(err)})
			return err
		}
	}
	return nil
}

// runHooks runs deploy hooks in order: host ones as commands, container
// ones in every running container of the namespaces deployed to whose pod
// and container names match.
func (d *Deploys) runHooks(ctx context.Context, phase string, hs []config.DeployHook, deployed []deploy.Resource) error {
	namespaces := []string{d.Namespace}
	for _, r := range deployed {
		if r.Namespace != "" && !slices.Contains(namespaces, r.Namespace) {
			namespaces = append(namespaces, r.Namespace)
		}
	}
	wd, _ := os.Getwd()
	env := hooks.Env{"RUN_ID": d.RunID, "KUBE_CONTEXT": d.KubeContext, "NAMESPACES": strings.Join(namespaces, ","), "WORK_DIR": wd}
	line := hooks.Printer(d.HookOut, phase)
	for i, h := range hs {
		switch {
		case h.Host != nil:
			if err := hooks.Run(ctx, phase, []config.HostHook{*h.Host}, wd, env, fault.DeployHookFailed, line); err != nil {
				return err
			}
		case h.Container != nil:
			lines := &hooks.Lines{Line: line}
			err := d.containerHook(ctx, phase, i, h.Container, namespaces, lines)
			lines.Flush()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *Deploys) containerHook(ctx context.Context, phase string, i int, h *config.ContainerHook, namespaces []string, out io.Writer) error {
	fail := func(err error, msg string) error {
		return fault.Wrap(err, fault.DeployHookFailed, fmt.Sprintf("%s hook %d (%s in pods %s): %s", phase, i+1, strings.Join(h.Command, " "), h.PodName, msg),
			"run it by hand with kubectl exec")
	}
	if d.Exec == nil || d.Client == nil {
		return fail(nil, "no cluster to run it in")
	}
	for _, ns := range namespaces {
		pods, err := d.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fail(err, "listing pods")
		}
		for _, p := range pods.Items {
			if ok, _ := path.Match(h.PodName, p.Name); !ok || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				continue
			}
			for _, c := range p.Spec.Containers {
				if ok, _ := path.Match(h.ContainerName, c.Name); h.ContainerName != "" && !ok {
					continue
				}
				if err := d.Exec(ctx, ns, p.Name, c.Name, h.Command, out); err != nil {
					return fail(err, fmt.Sprintf("in %s/%s container %s", ns, p.Name, c.Name))
				}
			}
		}
	}
	return nil
}

// Delete deletes what the manifests describe.
func (d *Deploys) Delete(ctx context.Context) error {
	d.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS})
	files, err := d.Deployer.Delete(ctx, d)
	return d.ended(ctx, files, err)
}

func (d *Deploys) statusEvent(e *pb.StatusCheckEvent) {
	d.Bus.Publish(&pb.Event{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: e}})
}

func (d *Deploys) check(ctx context.Context, resources []deploy.Resource) error {
	n := 0
	for _, r := range resources {
		if status.Checked(r.Kind) {
			n++
		}
	}
	d.statusEvent(&pb.StatusCheckEvent{Status: pb.Status_IN_PROGRESS,
		Message: fmt.Sprintf("waiting up to %s for %d resources to be ready", d.Check.Deadline, n)})
	err := status.Check(ctx, d.Client, resources, d.Check, func(u status.Update) {
		e := &pb.StatusCheckEvent{Resource: u.Resource, Message: u.Message}
		switch u.State {
		case status.Ready:
			e.Status = pb.Status_SUCCEEDED
		case status.Failed:
			e.Status = pb.Status_FAILED
			e.Error = ErrorOf(u.Err)
		default:
			e.Status = pb.Status_IN_PROGRESS
		}
		d.statusEvent(e)
	})
	switch {
	case err == nil:
		d.statusEvent(&pb.StatusCheckEvent{Status: pb.Status_SUCCEEDED, Message: fmt.Sprintf("%d resources ready", n)})
	case ctx.Err() != nil:
		err = fault.Wrap(context.Cause(ctx), fault.Canceled, "status check canceled")
		d.statusEvent(&pb.StatusCheckEvent{Status: pb.Status_CANCELED, Error: ErrorOf(err)})
	default:
		d.statusEvent(&pb.StatusCheckEvent{Status: pb.Status_FAILED, Message: "status check failed", Error: ErrorOf(err)})
	}
	return err
}
