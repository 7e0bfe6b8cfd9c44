package docker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/daemon"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/docker"
	"github.com/hoist-dev/hoist/internal/deploy/status"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// applied records what a deploy reports.
type applied struct {
	mu  sync.Mutex
	got []string
}

func (a *applied) Applied(r deploy.Resource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, fmt.Sprintf("%s %s %s", r.Action, r.Kind, r.Name))
}

func (a *applied) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	got := a.got
	a.got = nil
	return got
}

// engine connects to the test environment's Docker engine and pulls its
// base image.
func engine(t *testing.T) (*client.Client, string) {
	t.Helper()
	env := testutil.Docker(t)
	c, err := daemon.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	rc, err := c.ImagePull(t.Context(), env.BaseImage, image.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
	return c, env.BaseImage
}

// unique is a name no other test uses: each test deploys its own images,
// as a project of its own.
func unique(name string) string {
	return fmt.Sprintf("%s-%d", name, time.Now().UnixNano()%1_000_000_000)
}

// imageWith makes an image of base that runs the shell script cmd, with a
// health check when health is set, and returns its id. It is removed when
// the test ends, after the containers of cleanup: call cleanup after it.
func imageWith(t *testing.T, c *client.Client, base, cmd string, health *container.HealthConfig) string {
	t.Helper()
	ctx := t.Context()
	tmp, err := c.ContainerCreate(ctx, &container.Config{Image: base}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.ContainerRemove(context.Background(), tmp.ID, container.RemoveOptions{Force: true}) }()
	img, err := c.ContainerCommit(ctx, tmp.ID, container.CommitOptions{Config: &container.Config{
		Cmd: []string{"sh", "-c", cmd}, Healthcheck: health}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.ImageRemove(context.Background(), img.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return img.ID
}

// cleanup removes what a test's project left, whatever the test did, when
// the test ends.
func cleanup(t *testing.T, c *client.Client, project string) {
	t.Cleanup(func() {
		ctx := context.Background()
		by := filters.NewArgs(filters.Arg("label", docker.ProjectLabel+"="+project))
		cs, _ := c.ContainerList(ctx, container.ListOptions{All: true, Filters: by})
		for _, ct := range cs {
			_ = c.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true})
		}
		ns, _ := c.NetworkList(ctx, network.ListOptions{Filters: by})
		for _, n := range ns {
			_ = c.NetworkRemove(ctx, n.ID)
		}
	})
}

// left lists the containers and networks of a project.
func left(t *testing.T, c *client.Client, project string) []string {
	t.Helper()
	by := filters.NewArgs(filters.Arg("label", docker.ProjectLabel+"="+project))
	cs, err := c.ContainerList(t.Context(), container.ListOptions{All: true, Filters: by})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.NetworkList(t.Context(), network.ListOptions{Filters: by})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ct := range cs {
		out = append(out, "Container "+strings.TrimPrefix(ct.Names[0], "/"))
	}
	for _, n := range ns {
		out = append(out, "Network "+n.Name)
	}
	slices.Sort(out)
	return out
}

// syncBuffer is a bytes.Buffer safe for the log followers' writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDeployReplaceAndDelete(t *testing.T) {
	c, base := engine(t)
	project := unique("p")
	app, side := unique("app"), unique("side")
	appID := imageWith(t, c, base, "echo started; exec sleep 600", nil)
	sideID := imageWith(t, c, base, "exec sleep 600", nil)
	cleanup(t, c, project)
	builds := []build.Result{{ImageName: app, Tag: app + ":v1", Digest: appID}, {ImageName: side, Tag: side + ":v1", Digest: sideID}}
	var out syncBuffer
	logs := docker.NewLogs(&out)
	t.Cleanup(logs.Close)
	d := &docker.Deployer{Client: c, Images: []string{app, side}, RunID: "run-1", Project: project, Logs: logs}
	r := &applied{}
	opts := status.Options{Deadline: time.Minute}

	resources, files, err := d.Deploy(t.Context(), builds, r)
	if err != nil {
		t.Fatal(err)
	}
	if files != nil {
		t.Errorf("manifests %v", files)
	}
	want := []string{"created Network hoist-run-1", "created Container " + app, "created Container " + side}
	if diff := cmp.Diff(want, r.take()); diff != "" {
		t.Errorf("first deploy (-want +got):\n%s", diff)
	}
	want = []string{"created Container " + app, "created Container " + side}
	var got []string
	for _, res := range resources {
		got = append(got, res.Action+" "+res.Kind+" "+res.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources to check (-want +got):\n%s", diff)
	}
	var updates []status.Update
	if err := d.CheckStatus(t.Context(), resources, opts, func(u status.Update) { updates = append(updates, u) }); err != nil {
		t.Fatalf("status check: %v (%v)", err, updates)
	}
	ct, err := c.ContainerInspect(t.Context(), app)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Image != appID || ct.Config.Labels[docker.RunIDLabel] != "run-1" || ct.Config.Labels[docker.ArtifactLabel] != app {
		t.Errorf("container %s runs %s with labels %v, want image %s", app, ct.Image, ct.Config.Labels, appID)
	}
	if ep := ct.NetworkSettings.Networks["hoist-run-1"]; ep == nil || !slices.Contains(ep.Aliases, app) {
		t.Errorf("container %s on networks %v, want hoist-run-1 with alias %s", app, ct.NetworkSettings.Networks, app)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "["+app+"] started\n") }, "the container's output, prefixed with its name")

	// Deploying the same again leaves every container be.
	if _, _, err := d.Deploy(t.Context(), builds, r); err != nil {
		t.Fatal(err)
	}
	want = []string{"unchanged Network hoist-run-1", "unchanged Container " + app, "unchanged Container " + side}
	if diff := cmp.Diff(want, r.take()); diff != "" {
		t.Errorf("same deploy again (-want +got):\n%s", diff)
	}

	// Another run replaces the containers, on its own network, and removes
	// the earlier run's.
	d2 := *d
	d2.RunID = "run-2"
	resources, _, err = d2.Deploy(t.Context(), builds, r)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"created Network hoist-run-2", "configured Container " + app, "configured Container " + side, "deleted Network hoist-run-1"}
	if diff := cmp.Diff(want, r.take()); diff != "" {
		t.Errorf("deploy of another run (-want +got):\n%s", diff)
	}
	if err := d2.CheckStatus(t.Context(), resources, opts, func(status.Update) {}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Container " + app, "Container " + side, "Network hoist-run-2"}, left(t, c, project)); diff != "" {
		t.Errorf("after the second run (-want +got):\n%s", diff)
	}
	// The replaced container's output is followed too, once.
	waitFor(t, func() bool { return strings.Count(out.String(), "["+app+"] started\n") == 2 }, "the new container's output")

	// A deployer of another process, which knows only the config, deletes
	// them all.
	del := &docker.Deployer{Client: c, Images: []string{app, side}, RunID: "run-3", Project: project}
	if _, err := del.Delete(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	want = []string{"deleted Container " + app, "deleted Container " + side, "deleted Network hoist-run-2"}
	if diff := cmp.Diff(want, r.take()); diff != "" {
		t.Errorf("delete (-want +got):\n%s", diff)
	}
	if got := left(t, c, project); len(got) > 0 {
		t.Errorf("left after delete: %v", got)
	}
	logs.Close()
	before := out.String()
	time.Sleep(100 * time.Millisecond)
	if out.String() != before {
		t.Error("output written after Close")
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCheckStatus(t *testing.T) {
	c, base := engine(t)
	never := &container.HealthConfig{Test: []string{"CMD", "false"}, Interval: 200 * time.Millisecond, Retries: 1000}
	failing := &container.HealthConfig{Test: []string{"CMD-SHELL", "echo not ready; exit 1"}, Interval: 200 * time.Millisecond, Retries: 2}
	healthy := &container.HealthConfig{Test: []string{"CMD", "true"}, Interval: 200 * time.Millisecond}
	tests := []struct {
		name   string
		cmd    string
		health *container.HealthConfig
		// code is the failure's, "" for none; message, what it says.
		code     fault.Code
		message  []string
		tolerate bool
	}{
		{"running", "exec sleep 600", nil, "", []string{"running"}, false},
		{"healthy", "exec sleep 600", healthy, "", []string{"running and healthy"}, false},
		{"exits", "echo one; echo two >&2; exit 3", nil, fault.StatusCheckFailed,
			// The engine keeps the order of each stream, not across them.
			[]string{"exited with code 3; last output: ", "one", "two"}, false},
		{"exits with success", "exit 0", nil, fault.StatusCheckFailed, []string{"exited with code 0"}, false},
		// Seen running first, it is not ready until it has stayed up.
		{"exits soon after it starts", "sleep 0.3; exit 4", nil, fault.StatusCheckFailed, []string{"exited with code 4"}, false},
		{"unhealthy", "exec sleep 600", failing, fault.StatusCheckFailed, []string{"is unhealthy (last probe exited 1: not ready)"}, false},
		{"unhealthy until the deadline", "exec sleep 600", failing, fault.StatusCheckDeadline,
			[]string{"was not ready within 2s: unhealthy"}, true},
		{"never healthy", "exec sleep 600", never, fault.StatusCheckDeadline,
			[]string{"was not ready within 2s: running, waiting for the health check"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project, name := unique("p"), unique("check")
			id := imageWith(t, c, base, tt.cmd, tt.health)
			cleanup(t, c, project)
			d := &docker.Deployer{Client: c, Images: []string{name}, RunID: project, Project: project}
			resources, _, err := d.Deploy(t.Context(), []build.Result{{ImageName: name, Tag: name, Digest: id}}, &applied{})
			if err != nil {
				t.Fatal(err)
			}
			var updates []status.Update
			err = d.CheckStatus(t.Context(), resources, status.Options{Deadline: 2 * time.Second, TolerateFailures: tt.tolerate},
				func(u status.Update) { updates = append(updates, u) })
			last := updates[len(updates)-1]
			if last.Resource != "container/"+name {
				t.Errorf("update of %q, want container/%s", last.Resource, name)
			}
			if tt.code == "" {
				if err != nil || last.State != status.Ready {
					t.Fatalf("error %v, last update %+v", err, last)
				}
			} else if fault.CodeOf(err) != tt.code || last.State != status.Failed || last.Err != err {
				t.Fatalf("error %v (code %s), last update %+v: want code %s", err, fault.CodeOf(err), last, tt.code)
			}
			for _, m := range tt.message {
				if !strings.Contains(last.Message, m) {
					t.Errorf("message %q does not say %q", last.Message, m)
				}
			}
		})
	}
}

func TestPublishedPort(t *testing.T) {
	c, base := engine(t)
	project, name := unique("p"), unique("web")
	id := imageWith(t, c, base, "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www", nil)
	cleanup(t, c, project)
	pfs := []*config.PortForward{{Type: "container", Name: name, Port: config.IntOrString{Int: 8080}}}
	d := &docker.Deployer{Client: c, Images: []string{name}, RunID: project, Project: project, PortForward: pfs}
	resources, _, err := d.Deploy(t.Context(), []build.Result{{ImageName: name, Tag: name, Digest: id}}, &applied{})
	if err != nil {
		t.Fatal(err)
	}
	var ready string
	if err := d.CheckStatus(t.Context(), resources, status.Options{Deadline: time.Minute}, func(u status.Update) { ready = u.Message }); err != nil {
		t.Fatal(err)
	}
	ct, err := c.ContainerInspect(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	bs := ct.NetworkSettings.Ports["8080/tcp"]
	if len(bs) != 1 || bs[0].HostIP != "127.0.0.1" || bs[0].HostPort == "" {
		t.Fatalf("8080/tcp is published on %v, want one port of 127.0.0.1", bs)
	}
	if want := "published 8080/tcp on 127.0.0.1:" + bs[0].HostPort; !strings.Contains(ready, want) {
		t.Errorf("ready message %q does not say %q", ready, want)
	}
	if page := httpGet(t, "http://127.0.0.1:"+bs[0].HostPort+"/"); page != "hello\n" {
		t.Errorf("the page is %q", page)
	}
}

func TestEngineUnreachable(t *testing.T) {
	c, err := client.NewClientWithOpts(client.WithHost("unix://"+t.TempDir()+"/docker.sock"), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	d := &docker.Deployer{Client: c, Images: []string{"web"}, RunID: "r", Project: "p"}
	_, _, err = d.Deploy(t.Context(), []build.Result{{ImageName: "web", Tag: "web:v1"}}, &applied{})
	if fault.CodeOf(err) != fault.BuildDockerUnreachable || !strings.Contains(err.Error(), "cannot reach the Docker daemon") {
		t.Errorf("deploy: %v, want %s", err, fault.BuildDockerUnreachable)
	}
	if _, err := d.Delete(t.Context(), &applied{}); fault.CodeOf(err) != fault.BuildDockerUnreachable {
		t.Errorf("delete: %v, want %s", err, fault.BuildDockerUnreachable)
	}
}

func TestImageNotThere(t *testing.T) {
	c, _ := engine(t)
	for _, tt := range []struct {
		name   string
		builds []build.Result
		code   fault.Code
		msg    string
	}{
		{"no build", []build.Result{{ImageName: "other", Tag: "other:v1"}},
			fault.DeployArtifactsInvalid, "deploy.docker.images names web, and no build of it was given"},
		{"built, and gone from the engine", []build.Result{{ImageName: "web", Tag: "web:v1", Digest: "sha256:" + strings.Repeat("0", 64)}},
			fault.BuildImageNotFound, "image sha256:000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			project := unique("p")
			cleanup(t, c, project)
			d := &docker.Deployer{Client: c, Images: []string{"web"}, RunID: project, Project: project}
			r := &applied{}
			_, _, err := d.Deploy(t.Context(), tt.builds, r)
			if fault.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want %s saying %q", err, tt.code, tt.msg)
			}
			if got := r.take(); len(got) > 0 {
				t.Errorf("deployed %v before finding the image missing", got)
			}
		})
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
