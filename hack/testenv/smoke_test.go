// Package testenv_test is the test environment's own smoke test: an image
// built by its dockerd from the busybox base, pushed to its registry and
// deployed to its cluster, rolls out.
package testenv_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/hoist-dev/hoist/internal/testutil"
)

func TestSmoke(t *testing.T) {
	env := testutil.Docker(t)
	testutil.Kubernetes(t)
	ctx := t.Context()
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := docker.Close(); err != nil {
			t.Errorf("closing the docker client: %v", err)
		}
	})

	tag := fmt.Sprintf("%s/testenv-smoke:%d", env.Registry, time.Now().UnixNano())
	dockerfile := fmt.Sprintf("FROM %s\nRUN echo ok > /ok.txt\nCMD [\"sleep\", \"3600\"]\n", env.BaseImage)
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(dockerfile)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := docker.ImageBuild(ctx, &ctxTar, build.ImageBuildOptions{Tags: []string{tag}, NetworkMode: "host", Remove: true})
	if err != nil {
		t.Fatalf("docker build: %v", err)
	}
	out, err := io.ReadAll(resp.Body)
	if err = errors.Join(err, resp.Body.Close()); err != nil {
		t.Fatalf("docker build: reading its output: %v", err)
	}
	if !strings.Contains(string(out), "Successfully tagged") {
		t.Fatalf("docker build did not tag the image:\n%s", out)
	}
	push, err := docker.ImagePush(ctx, tag, image.PushOptions{RegistryAuth: "e30="})
	if err != nil {
		t.Fatalf("docker push: %v", err)
	}
	out, err = io.ReadAll(push)
	if err = errors.Join(err, push.Close()); err != nil {
		t.Fatalf("docker push: reading its output: %v", err)
	}
	if !strings.Contains(string(out), "digest: sha256:") {
		t.Fatalf("docker push did not report a digest:\n%s", out)
	}

	name := fmt.Sprintf("smoke-%d", time.Now().UnixNano()%100000)
	kubectl := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "kubectl", args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	kubectl(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers: [{name: app, image: "%[2]s"}]
`, name, tag), "apply", "-f", "-")
	defer kubectl("", "delete", "deployment", name, "--wait=false")
	out2 := kubectl("", "rollout", "status", "deployment/"+name, "--timeout=90s")
	if !strings.Contains(out2, "successfully rolled out") {
		t.Fatalf("rollout: %s", out2)
	}
}
