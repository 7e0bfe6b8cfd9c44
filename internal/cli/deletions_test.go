package cli_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// holdFinalizer keeps a deleted object in the cluster, terminating, until
// the test removes it.
const holdFinalizer = "hoist.dev/test-hold"

// terminating creates ConfigMap name in ns with holdFinalizer and deletes
// it: it stays, being deleted, until release is called. The test's
// cleanup releases it too, so that its namespace can go.
func terminating(t *testing.T, client kubernetes.Interface, ns, name string) (uid types.UID, release func()) {
	t.Helper()
	cm, err := client.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: []string{holdFinalizer}},
		Data:       map[string]string{"v": "old"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().ConfigMaps(ns).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	release = func() {
		// Not t.Context(): this also runs in the cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		_, err := client.CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil && !strings.Contains(err.Error(), "not found") {
			t.Errorf("removing the finalizer of %s: %v", name, err)
		}
	}
	t.Cleanup(release)
	return cm.UID, release
}

// deletionLogs are the lines of deploy output that say what the deploy
// waits for.
func deletionLogs(events []*pb.Envelope) []string {
	var out []string
	for _, e := range events {
		if l := e.Event.GetDeployEvent().GetLog(); strings.Contains(l, "marked for deletion") {
			out = append(out, l)
		}
	}
	return out
}

// TestDeployWaitsForDeletions deploys a manifest whose ConfigMap is still
// being deleted in the cluster (a finalizer holds it). The deploy waits,
// saying so once, until the test removes the finalizer, then creates the
// object anew; with a short --wait-for-deletions-max it fails with
// DEPLOY_DELETION_PENDING naming the object, which it leaves alone; with
// --wait-for-deletions=false it applies at once.
func TestDeployWaitsForDeletions(t *testing.T) {
	client, ns := namespace(t, testutil.Kubernetes(t))
	manifest := func(name string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {v: new}\n", name)
	}
	deploy := func(name string, args ...string) (result, time.Duration) {
		cfg := manifestProject(t, 30, map[string]string{name + ".yaml": manifest(name)})
		start := time.Now()
		r := run(t, t.Context(), append([]string{"deploy", "-f", cfg, "-n", ns, "--images", "app=registry.example/app:v1"}, args...)...)
		return r, time.Since(start)
	}

	t.Run("waits until it is gone", func(t *testing.T) {
		old, release := terminating(t, client, ns, "held")
		const hold = 1500 * time.Millisecond
		go func() {
			time.Sleep(hold)
			release()
		}()
		r, took := deploy("held", "--wait-for-deletions-delay", "100ms")
		if r.code != 0 {
			t.Fatalf("deploy: exit %d\n%s", r.code, r.stderr)
		}
		checkRun(t, r.events, pb.Status_SUCCEEDED)
		if took < hold {
			t.Errorf("the deploy took %v: it did not wait for the deletion (%v)", took, hold)
		}
		want := "ConfigMap " + ns + "/held is marked for deletion, waiting for completion (at most 1m0s)"
		if logs := deletionLogs(r.events); len(logs) != 1 || logs[0] != want {
			t.Errorf("deploy output %q, want once %q", logs, want)
		}
		cm, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), "held", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.UID == old || cm.DeletionTimestamp != nil || cm.Data["v"] != "new" {
			t.Errorf("after the deploy: uid %s (the deleted one was %s), deletion %v, data %v", cm.UID, old, cm.DeletionTimestamp, cm.Data)
		}
	})

	t.Run("fails after --wait-for-deletions-max", func(t *testing.T) {
		old, _ := terminating(t, client, ns, "stuck")
		r, took := deploy("stuck", "--wait-for-deletions-max", "1s", "--wait-for-deletions-delay", "200ms")
		if r.code != fault.ExitDeploy || took < time.Second || took > 20*time.Second {
			t.Fatalf("deploy: exit %d after %v, want %d after about 1s\n%s", r.code, took, fault.ExitDeploy, r.stderr)
		}
		for _, want := range []string{"error [DEPLOY_DELETION_PENDING]",
			"1 object was still being deleted after --wait-for-deletions-max 1s, before a new deploy: ConfigMap " + ns + "/stuck",
			"hint: see what holds them", "--wait-for-deletions=false"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
			}
		}
		checkRun(t, r.events, pb.Status_FAILED)
		var failed *pb.DeployEvent
		for _, e := range r.events {
			if d := e.Event.GetDeployEvent(); d.GetStatus() == pb.Status_FAILED {
				failed = d
			}
		}
		if failed.GetError().GetCode() != string(fault.DeployDeletionPending) {
			t.Errorf("the failed deployEvent: %v", failed)
		}
		cm, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), "stuck", metav1.GetOptions{})
		if err != nil || cm.UID != old || cm.Data["v"] != "old" {
			t.Errorf("the deploy touched the object it waited for: %v %v", cm, err)
		}

		// Without the wait, it is applied over at once.
		r, _ = deploy("stuck", "--wait-for-deletions=false")
		if r.code != 0 || len(deletionLogs(r.events)) > 0 {
			t.Errorf("--wait-for-deletions=false: exit %d, output %q\n%s", r.code, deletionLogs(r.events), r.stderr)
		}
	})
}

// TestWaitForDeletionsFlags refuses a wait that could not work, before the
// run starts.
func TestWaitForDeletionsFlags(t *testing.T) {
	cfg := filepath.Join(testutil.Root(t), "examples", "getting-started", "skaffold.yaml")
	for _, args := range [][]string{
		{"deploy", "--wait-for-deletions-max", "0s"},
		{"run", "--wait-for-deletions-max", "-1m"},
		{"dev", "--wait-for-deletions-delay", "0s"},
	} {
		r := runPlain(t.Context(), append(args, "-f", cfg)...)
		if r.code != fault.ExitConfig || !strings.Contains(r.stderr, "error [USAGE_INVALID]: "+args[1]) || r.stdout != "" {
			t.Errorf("hoist %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// Off, the durations do not matter.
	r := runPlain(t.Context(), "deploy", "-f", cfg, "--wait-for-deletions=false", "--wait-for-deletions-max", "0s", "--kubeconfig", filepath.Join(t.TempDir(), "none"))
	if strings.Contains(r.stderr, "--wait-for-deletions-max") {
		t.Errorf("--wait-for-deletions=false still checks the durations:\n%s", r.stderr)
	}
}
