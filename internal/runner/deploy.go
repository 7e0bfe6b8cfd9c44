package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
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
	"github.com/hoist-dev/hoist/internal/filesync"
	"github.com/hoist-dev/hoist/internal/hooks"
)

// Deploys runs the deploy phase and its status check.
type Deploys struct {
	Bus *event.Bus
	// Deployers deploy in order and delete in the reverse order; each
	// reports in deployEvents of its own name.
	Deployers []deploy.Deployer
	// StatusCheck turns the status check on; Client and Deadline serve it.
	// Deployers that are StatusCheckers check their own resources.
	StatusCheck bool
	Check       status.Options
	Client      kubernetes.Interface

	// Hooks run before the deploy, and after it and its status check
	// succeed; their output goes to HookOut. Exec runs a container hook's
	// command, or a sync's, in a container. RunID, KubeContext and
	// Namespace are what the hooks are told (SKAFFOLD_RUN_ID, ...),
	// Namespace also where pre-deploy container hooks look for pods.
	Hooks       *config.DeployHooks
	HookOut     io.Writer
	Exec        filesync.Exec
	RunID       string
	KubeContext string
	Namespace   string

	// namespaces are those the last Run deployed to.
	namespaces []string
	// Deployed, when set, is given what each deploy applied once it, its
	// status check and its hooks have succeeded: the port forwards follow
	// it.
	Deployed func(resources []deploy.Resource)
	// Logs, when set, follows the deployed pods' logs: each deployer's
	// namespaces are added as it deploys, before the status check.
	Logs LogFollower
}

// LogFollower follows what the containers of a run's pods print.
type LogFollower interface {
	// Follow follows the run's pods in these namespaces too.
	Follow(namespaces ...string)
}

// StatusChecker is a Deployer whose resources are not Kubernetes
// workloads, such as containers on a Docker engine: it waits for them
// itself, reporting as the Kubernetes status check does.
type StatusChecker interface {
	CheckStatus(ctx context.Context, resources []deploy.Resource, o status.Options, report func(status.Update)) error
}

// reporter publishes the deployEvents of one deployer.
type reporter struct {
	bus  *event.Bus
	name string
}

func (r reporter) publish(e *pb.DeployEvent) {
	e.Deployer = r.name
	r.bus.Publish(&pb.Event{Payload: &pb.Event_DeployEvent{DeployEvent: e}})
}

// Applied implements deploy.Reporter: one event per object.
func (r reporter) Applied(res deploy.Resource) {
	r.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Resources: []*pb.Resource{
		{Kind: res.Kind, Namespace: res.Namespace, Name: res.Name, Action: res.Action}}})
}

// Log publishes a line of the deploy's output, as a buildEvent's log is
// one of the build's.
func (r reporter) Log(line string) {
	r.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Log: line})
}

// ended publishes the end of a deploy or delete.
func (r reporter) ended(ctx context.Context, files []string, err error) error {
	switch {
	case err == nil:
		r.publish(&pb.DeployEvent{Status: pb.Status_SUCCEEDED, Manifests: files})
	case ctx.Err() != nil:
		err = fault.Wrap(context.Cause(ctx), fault.Canceled, "deploy canceled")
		r.publish(&pb.DeployEvent{Status: pb.Status_CANCELED, Manifests: files, Error: ErrorOf(err)})
	default:
		r.publish(&pb.DeployEvent{Status: pb.Status_FAILED, Manifests: files, Error: ErrorOf(err)})
	}
	return err
}

// Fail reports a deploy by the named deployer that could not start.
func Fail(bus *event.Bus, deployer string, err error) error {
	r := reporter{bus, deployer}
	r.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS})
	return r.ended(context.Background(), nil, err)
}

// deployed is what one deployer did.
type deployed struct {
	by        deploy.Deployer
	resources []deploy.Resource
}

// Run deploys builds with each deployer in turn, then checks the status of
// what they deployed.
func (d *Deploys) Run(ctx context.Context, builds []build.Result) error {
	var done []deployed
	var all []deploy.Resource
	for i, dep := range d.Deployers {
		r := reporter{d.Bus, dep.Name()}
		r.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS})
		if i == 0 && d.Hooks != nil {
			if err := d.runHooks(ctx, "pre-deploy", d.Hooks.Before, nil); err != nil {
				return r.ended(ctx, nil, err)
			}
		}
		resources, files, err := dep.Deploy(ctx, builds, r)
		if err := r.ended(ctx, files, err); err != nil {
			return err
		}
		done = append(done, deployed{dep, resources})
		all = append(all, resources...)
		if d.Logs != nil {
			for _, r := range resources {
				// Namespaced objects of a cluster; a Docker container,
				// like a Namespace, is in none.
				if r.Namespace != "" {
					d.Logs.Follow(r.Namespace)
				}
			}
		}
	}
	d.namespaces = []string{d.Namespace}
	for _, r := range all {
		if r.Namespace != "" && !slices.Contains(d.namespaces, r.Namespace) {
			d.namespaces = append(d.namespaces, r.Namespace)
		}
	}
	if d.StatusCheck {
		if err := d.check(ctx, done); err != nil {
			return err
		}
	}
	if d.Hooks != nil && len(d.Deployers) > 0 {
		if err := d.runHooks(ctx, "post-deploy", d.Hooks.After, all); err != nil {
			reporter{d.Bus, d.Deployers[len(d.Deployers)-1].Name()}.publish(&pb.DeployEvent{Status: pb.Status_FAILED, Error: ErrorOf(err)})
			return err
		}
	}
	if d.Deployed != nil {
		d.Deployed(all)
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
	host := hooks.Runner{Phase: phase, Dir: wd, Env: env, Code: fault.DeployHookFailed, Line: line}
	for i, h := range hs {
		switch {
		case h.Host != nil:
			if _, err := host.Hook(ctx, i+1, *h.Host, hooks.IO{}); err != nil {
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
				if err := d.Exec(ctx, ns, p.Name, c.Name, h.Command, nil, out); err != nil {
					return fail(err, fmt.Sprintf("in %s/%s container %s", ns, p.Name, c.Name))
				}
			}
		}
	}
	return nil
}

// CanSync tells whether Sync can reach the containers of what Run
// deployed: a Kubernetes deploy ran (the Docker deployer's containers are
// not synced).
func (d *Deploys) CanSync() bool {
	return d.Client != nil && d.Exec != nil && len(d.namespaces) > 0 && !slices.ContainsFunc(d.Deployers, func(dep deploy.Deployer) bool {
		_, own := dep.(StatusChecker)
		return own
	})
}

// Sync copies an artifact's changed files into the running containers of
// its build b in the namespaces the last Run deployed to, and returns
// them.
func (d *Deploys) Sync(ctx context.Context, image string, b build.Result, it *filesync.Item) ([]filesync.Container, error) {
	return filesync.Cluster{Client: d.Client, Exec: d.Exec}.Sync(ctx, d.namespaces, image, b, it)
}

// Delete deletes what each deployer deployed, the last deployer first. A
// deployer that fails to delete does not keep the others from trying.
func (d *Deploys) Delete(ctx context.Context) error {
	var errs []error
	for _, dep := range slices.Backward(d.Deployers) {
		r := reporter{d.Bus, dep.Name()}
		r.publish(&pb.DeployEvent{Status: pb.Status_IN_PROGRESS})
		files, err := dep.Delete(ctx, r)
		if err := r.ended(ctx, files, err); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *Deploys) statusEvent(e *pb.StatusCheckEvent) {
	d.Bus.Publish(&pb.Event{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: e}})
}

func (d *Deploys) check(ctx context.Context, done []deployed) error {
	n := 0
	var kube []deploy.Resource
	var own []deployed
	for _, dd := range done {
		if _, ok := dd.by.(StatusChecker); ok {
			n += len(dd.resources)
			own = append(own, dd)
			continue
		}
		for _, r := range dd.resources {
			if status.Checked(r.Kind) {
				n++
			}
		}
		kube = append(kube, dd.resources...)
	}
	d.statusEvent(&pb.StatusCheckEvent{Status: pb.Status_IN_PROGRESS,
		Message: fmt.Sprintf("waiting up to %s for %d resources to be ready", d.Check.Deadline, n)})
	var mu sync.Mutex
	report := func(u status.Update) {
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
		mu.Lock()
		defer mu.Unlock()
		d.statusEvent(e)
	}
	// The checks share the deadline and end at the first failure.
	g, gctx := errgroup.WithContext(ctx)
	if len(kube) > 0 {
		g.Go(func() error { return status.Check(gctx, d.Client, kube, d.Check, report) })
	}
	for _, dd := range own {
		checker, _ := dd.by.(StatusChecker) // own holds only StatusCheckers
		g.Go(func() error { return checker.CheckStatus(gctx, dd.resources, d.Check, report) })
	}
	err := g.Wait()
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
