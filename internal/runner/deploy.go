package runner

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/status"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
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
	resources, files, err := d.Deployer.Deploy(ctx, builds, d)
	if err := d.ended(ctx, files, err); err != nil {
		return err
	}
	if !d.StatusCheck {
		return nil
	}
	return d.check(ctx, resources)
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
