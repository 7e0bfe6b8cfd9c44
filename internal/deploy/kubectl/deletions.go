package kubectl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/fault"
)

// WaitForDeletions says how Deploy waits, before it applies, for objects of
// the manifests that the cluster is still deleting (they have a
// deletionTimestamp: finalizers or terminating pods hold them), as
// Skaffold's --wait-for-deletions does: applying one would change an
// object about to disappear, not make a new one. The zero value does not
// wait.
type WaitForDeletions struct {
	Enabled bool
	// Max bounds the wait; when it is over, the deploy fails.
	Max time.Duration
	// Delay is the time between two checks.
	Delay time.Duration
}

// Check refuses a wait that could not work: one that is enabled must have
// a positive Max and Delay.
func (w WaitForDeletions) Check() error {
	if !w.Enabled {
		return nil
	}
	if w.Max <= 0 {
		return fault.New(fault.UsageInvalid, fmt.Sprintf("--wait-for-deletions-max %s is not a positive duration", w.Max),
			"give how long to wait at most, such as 1m, or --wait-for-deletions=false not to wait")
	}
	if w.Delay <= 0 {
		return fault.New(fault.UsageInvalid, fmt.Sprintf("--wait-for-deletions-delay %s is not a positive duration", w.Delay),
			"give the time between two checks, such as 2s")
	}
	return nil
}

// logger is a Reporter that also takes the lines of a deploy's output,
// as the runner's does: each becomes a deployEvent's log.
type logger interface {
	Log(line string)
}

// say reports a line of the deploy's output to r, or else to d.Log.
func (d *Deployer) say(r deploy.Reporter, line string) {
	if l, ok := r.(logger); ok {
		l.Log(line)
		return
	}
	if d.Log != nil {
		// Output that cannot be written is no reason to fail the deploy.
		_, _ = fmt.Fprintln(d.Log, line)
	}
}

// waitForDeletions waits, as d.WaitForDeletions says, until no object of
// objs is being deleted, saying which ones it waits for whenever they
// change. When the wait is over first, it fails with
// DEPLOY_DELETION_PENDING, naming them.
func (d *Deployer) waitForDeletions(ctx context.Context, objs []manifest, r deploy.Reporter) error {
	w := d.WaitForDeletions
	if !w.Enabled || w.Max <= 0 {
		return nil
	}
	deadline := time.Now().Add(w.Max)
	previous := ""
	for {
		pending, err := d.beingDeleted(ctx, objs)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		list := strings.Join(pending, ", ")
		left := time.Until(deadline)
		if left <= 0 {
			return fault.New(fault.DeployDeletionPending,
				fmt.Sprintf("%d %s still being deleted after --wait-for-deletions-max %s, before a new deploy: %s",
					len(pending), plural(len(pending), "object was", "objects were"), w.Max, list),
				"see what holds them: kubectl get -o yaml shows their finalizers, and a namespace's status what it still waits for",
				"wait longer with --wait-for-deletions-max, or apply over them at once with --wait-for-deletions=false")
		}
		if list != previous {
			d.say(r, fmt.Sprintf("%s %s marked for deletion, waiting for completion (at most %s)",
				list, plural(len(pending), "is", "are"), left.Round(time.Second)))
			previous = list
		}
		t := time.NewTimer(min(w.Delay, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// beingDeleted names the objects of objs that exist and have a
// deletionTimestamp, as Kind namespace/name. An object whose kind the
// cluster does not know (yet: its CRD may be among the manifests) cannot
// be one.
func (d *Deployer) beingDeleted(ctx context.Context, objs []manifest) ([]string, error) {
	var out []string
	for _, m := range objs {
		client, _, err := d.resource(ctx, m, nil)
		if fault.CodeOf(err) == fault.DeployUnknownKind {
			continue
		}
		if err != nil {
			return nil, err
		}
		obj, err := client.Get(ctx, m.obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) {
				return nil, d.Cluster.unreachable(err)
			}
			return nil, fault.Wrap(err, fault.DeployApplyFailed,
				fmt.Sprintf("%s:%d: checking whether %s %q is being deleted", m.file, m.line, m.obj.GetKind(), m.obj.GetName()),
				"check that your credentials may get this object; --wait-for-deletions=false skips the check")
		}
		if obj.GetDeletionTimestamp() == nil {
			continue
		}
		name := obj.GetName()
		if ns := obj.GetNamespace(); ns != "" {
			name = ns + "/" + name
		}
		out = append(out, obj.GetKind()+" "+name)
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
