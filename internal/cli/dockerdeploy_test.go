package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build/daemon"
	dockerdeploy "github.com/hoist-dev/hoist/internal/deploy/docker"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// dockerDeployerExample copies examples/docker-deployer to a new folder,
// with its web container's port published on a free local port, tagged
// by inputs (the copy is not in a git repository), and returns the
// config's path and the local port.
func dockerDeployerExample(t *testing.T) (string, int) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(testutil.Root(t), "examples", "docker-deployer")+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "skaffold.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	for _, edit := range [][2]string{
		{"localPort: 9080", "localPort: " + strconv.Itoa(port)},
		{"build:\n", "build:\n  tagPolicy:\n    inputDigest: {}\n"},
	} {
		if !bytes.Contains(data, []byte(edit[0])) {
			t.Fatalf("the example's skaffold.yaml has no %q", edit[0])
		}
		data = bytes.Replace(data, []byte(edit[0]), []byte(edit[1]), 1)
	}
	writeFile(t, cfg, data)
	return cfg, port
}

// engineOf connects to the test environment's Docker engine, and removes
// what the deployer left of the project of cfg when the test ends,
// whatever the test did.
func engineOf(t *testing.T, cfg string) (*client.Client, string) {
	t.Helper()
	c, err := daemon.Connect()
	if err != nil {
		t.Fatal(err)
	}
	project := dockerdeploy.ProjectID(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		by := filters.NewArgs(filters.Arg("label", dockerdeploy.ProjectLabel+"="+project))
		cs, _ := c.ContainerList(ctx, container.ListOptions{All: true, Filters: by})
		for _, ct := range cs {
			_ = c.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true})
		}
		ns, _ := c.NetworkList(ctx, network.ListOptions{Filters: by})
		for _, n := range ns {
			_ = c.NetworkRemove(ctx, n.ID)
		}
		_ = c.Close()
	})
	return c, project
}

// deployed lists the containers (name, run id) and networks of a project.
func deployed(t *testing.T, c *client.Client, project string) []string {
	t.Helper()
	by := filters.NewArgs(filters.Arg("label", dockerdeploy.ProjectLabel+"="+project))
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
		out = append(out, fmt.Sprintf("container %s %s", strings.TrimPrefix(ct.Names[0], "/"), ct.State))
	}
	for _, n := range ns {
		out = append(out, "network "+n.Name)
	}
	slices.Sort(out)
	return out
}

// deploySummary is what a run's deployEvents and statusCheckEvents say,
// one line each: deployer, status and resources, or resource and status.
func deploySummary(events []*pb.Envelope) []string {
	var out []string
	for _, e := range events {
		if d := e.Event.GetDeployEvent(); d != nil {
			s := d.Deployer + " " + d.Status.String()
			for _, r := range d.Resources {
				s += fmt.Sprintf(" %s %s %s", r.Action, r.Kind, r.Name)
			}
			out = append(out, s)
		}
		if sc := e.Event.GetStatusCheckEvent(); sc != nil {
			out = append(out, strings.Join(strings.Fields("status "+sc.Resource+" "+sc.Status.String()), " "))
		}
	}
	return out
}

func TestDockerDeployerExample(t *testing.T) {
	testutil.Docker(t)
	cfg, port := dockerDeployerExample(t)
	c, project := engineOf(t, cfg)
	cache := filepath.Join(t.TempDir(), "cache.json")

	r := run(t, t.Context(), "run", "-f", cfg, "--cache-file", cache)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	runID := r.events[0].EventId
	if meta := r.events[0].Event.GetMetaEvent(); meta.Deployer != "docker" || !cmp.Equal(meta.Artifacts, []string{"greeter-web", "greeter-api"}) {
		t.Errorf("metaEvent = %v", meta)
	}
	net := "hoist-" + runID
	got := deploySummary(r.events)
	want := []string{
		"docker IN_PROGRESS",
		"docker IN_PROGRESS created Network " + net,
		"docker IN_PROGRESS created Container greeter-web",
		"docker IN_PROGRESS created Container greeter-api",
		"docker SUCCEEDED",
		"status IN_PROGRESS",
	}
	if diff := cmp.Diff(want, got[:min(len(want), len(got))]); diff != "" {
		t.Errorf("deploy events (-want +got):\n%s\nall: %q", diff, got)
	}
	var ready []string
	for _, s := range got {
		if strings.HasSuffix(s, " SUCCEEDED") && strings.HasPrefix(s, "status container/") {
			ready = append(ready, s)
		}
	}
	slices.Sort(ready)
	if diff := cmp.Diff([]string{"status container/greeter-api SUCCEEDED", "status container/greeter-web SUCCEEDED"}, ready); diff != "" {
		t.Errorf("containers ready (-want +got):\n%s\nall: %q", diff, got)
	}
	if last := got[len(got)-1]; last != "status SUCCEEDED" {
		t.Errorf("the status check ends %q", last)
	}

	// The page is served on the local port, and the web container reaches
	// the api container by its image name.
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if page := httpGet(t, base+"/"); !strings.Contains(page, "Hello from greeter-web") {
		t.Errorf("the page is %q", page)
	}
	if page := httpGet(t, base+"/cgi-bin/greeting"); !strings.Contains(page, "Greetings from greeter-api") {
		t.Errorf("the greeting through greeter-web is %q", page)
	}
	// The containers run the exact images built, labelled with the run.
	built := map[string]string{}
	for _, e := range r.events {
		if a := e.Event.GetBuildEvent().GetArtifact(); a != nil {
			built[a.ImageName] = a.Digest
		}
	}
	for _, name := range []string{"greeter-web", "greeter-api"} {
		ct, err := c.ContainerInspect(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if ct.Image != built[name] || ct.Config.Labels[dockerdeploy.RunIDLabel] != runID || ct.Config.Labels[dockerdeploy.ProjectLabel] != project {
			t.Errorf("container %s runs %s with labels %v; built %s in run %s", name, ct.Image, ct.Config.Labels, built[name], runID)
		}
		if _, ok := ct.NetworkSettings.Networks[net]; !ok || len(ct.NetworkSettings.Networks) != 1 {
			t.Errorf("container %s is on networks %v, want %s only", name, ct.NetworkSettings.Networks, net)
		}
	}
	web, _ := c.ContainerInspect(t.Context(), "greeter-web")
	if bs := web.HostConfig.PortBindings["8080/tcp"]; len(bs) != 1 || bs[0].HostIP != "127.0.0.1" || bs[0].HostPort != strconv.Itoa(port) {
		t.Errorf("greeter-web's 8080/tcp is bound to %v, want 127.0.0.1:%d only", bs, port)
	}
	if !strings.Contains(r.stderr, "[greeter-web] greeter-web: serving /www on port 8080\n") {
		t.Errorf("stderr does not show the containers' output:\n%s", r.stderr)
	}

	// A second run, with another run id, replaces the containers on its
	// own network, and removes the first run's.
	again := run(t, t.Context(), "run", "-f", cfg, "--cache-file", cache)
	if again.code != 0 {
		t.Fatalf("second run: exit %d\n%s", again.code, again.stderr)
	}
	net2 := "hoist-" + again.events[0].EventId
	got = deploySummary(again.events)
	want = []string{
		"docker IN_PROGRESS",
		"docker IN_PROGRESS created Network " + net2,
		"docker IN_PROGRESS configured Container greeter-web",
		"docker IN_PROGRESS configured Container greeter-api",
		"docker IN_PROGRESS deleted Network " + net,
		"docker SUCCEEDED",
	}
	if diff := cmp.Diff(want, got[:min(len(want), len(got))]); diff != "" {
		t.Errorf("second run's deploy events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"container greeter-api running", "container greeter-web running", "network " + net2}, deployed(t, c, project)); diff != "" {
		t.Errorf("after the second run (-want +got):\n%s", diff)
	}

	// hoist delete, a process of its own, finds and removes them.
	del := run(t, t.Context(), "delete", "-f", cfg)
	if del.code != 0 {
		t.Fatalf("delete: exit %d\n%s", del.code, del.stderr)
	}
	checkRun(t, del.events, pb.Status_SUCCEEDED)
	want = []string{
		"docker IN_PROGRESS",
		"docker IN_PROGRESS deleted Container greeter-web",
		"docker IN_PROGRESS deleted Container greeter-api",
		"docker IN_PROGRESS deleted Network " + net2,
		"docker SUCCEEDED",
	}
	if diff := cmp.Diff(want, deploySummary(del.events)); diff != "" {
		t.Errorf("delete events (-want +got):\n%s", diff)
	}
	if left := deployed(t, c, project); len(left) > 0 {
		t.Errorf("left after hoist delete: %v", left)
	}
}

func TestDockerDeployerContainerExits(t *testing.T) {
	testutil.Docker(t)
	cfg := dockerProject(t, "ARG BASE\nFROM ${BASE}\nCMD [\"sh\", \"-c\", \"echo opening the database; echo no database here >&2; exit 3\"]\n", "")
	image := strings.ToLower(t.Name())
	data, _ := os.ReadFile(cfg)
	writeFile(t, cfg, append(data, fmt.Sprintf("deploy:\n  docker:\n    images: [%s]\n", image)...))
	c, project := engineOf(t, cfg)

	r := run(t, t.Context(), "run", "-f", cfg, "--cache-file", filepath.Join(t.TempDir(), "cache.json"))
	failed := checkFailure(t, r, fault.ExitStatus, fault.StatusCheckFailed,
		[]string{"container/" + image + " exited with code 3", "last output: ", "opening the database", "no database here"})
	if failed.GetStatusCheckEvent() == nil {
		t.Errorf("the run fails with %v, want a statusCheckEvent", failed)
	}
	var sawContainer bool
	for _, e := range r.events {
		if sc := e.Event.GetStatusCheckEvent(); sc.GetResource() == "container/"+image && sc.Status == pb.Status_FAILED {
			sawContainer = sc.Error.GetCode() == string(fault.StatusCheckFailed) && strings.Contains(sc.Message, "exited with code 3")
		}
	}
	if !sawContainer {
		t.Errorf("no FAILED statusCheckEvent of container/%s with its exit code: %q", image, deploySummary(r.events))
	}
	// The container is left for docker logs, until hoist delete.
	if got := deployed(t, c, project); len(got) != 2 || got[0] != "container "+image+" exited" {
		t.Errorf("deployed %v, want the exited container and its network", got)
	}
	if del := run(t, t.Context(), "delete", "-f", cfg); del.code != 0 || len(deployed(t, c, project)) > 0 {
		t.Errorf("delete: exit %d, left %v\n%s", del.code, deployed(t, c, project), del.stderr)
	}
}

func TestDockerDeployerRefusesCompose(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
	writeFile(t, cfg, []byte("apiVersion: skaffold/v4beta14\nkind: Config\nbuild:\n  artifacts: [{image: web}]\ndeploy:\n  docker:\n    images: [web]\n    useCompose: true\n"))
	r := run(t, t.Context(), "run", "-f", cfg)
	if r.code != fault.ExitConfig {
		t.Fatalf("exit %d, want %d\n%s", r.code, fault.ExitConfig, r.stderr)
	}
	checkRun(t, r.events, pb.Status_FAILED)
	e := r.events[len(r.events)-1].Event.GetTerminationEvent().GetError()
	if want := cfg + ":8:17: deploy.docker.useCompose: hoist does not deploy with docker compose yet"; e.GetCode() != string(fault.ConfigUnsupport) || e.GetMessage() != want {
		t.Errorf("error = %v, want %s %q", e, fault.ConfigUnsupport, want)
	}
}

// hoist dev redeploys what changed: the container of the rebuilt image is
// replaced, the other left running; Ctrl-C removes both and the network.
func TestDockerDeployerDev(t *testing.T) {
	testutil.Docker(t)
	cfg, port := dockerDeployerExample(t)
	c, project := engineOf(t, cfg)
	d := &devSession{t: t, dir: filepath.Dir(cfg), logFile: filepath.Join(t.TempDir(), "events.jsonl"), stderr: &lockedBuffer{}}
	d.cmd = exec.Command(hoistBinary(t), "dev", "-f", cfg, "--event-log-file", d.logFile,
		"--cache-file", filepath.Join(t.TempDir(), "cache.json"), "--debounce", "300ms")
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill() // left running by a failed test
			_ = d.cmd.Wait()
		}
	})
	if st, _ := d.iteration(1, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	if page := httpGet(t, base); !strings.Contains(page, "Hello from greeter-web") {
		t.Fatalf("the page is %q", page)
	}
	first, err := c.ContainerInspect(t.Context(), "greeter-api")
	if err != nil {
		t.Fatal(err)
	}

	d.write("web/www/index.html", "<h1>changed by the test</h1>\n")
	st, evs := d.iteration(2, 90*time.Second)
	if st != pb.Status_SUCCEEDED {
		t.Fatalf("iteration 2 %s\n%s", st, d.stderr)
	}
	net := "hoist-" + evs[0].EventId
	want := []string{
		"docker IN_PROGRESS",
		"docker IN_PROGRESS unchanged Network " + net,
		"docker IN_PROGRESS configured Container greeter-web",
		"docker IN_PROGRESS unchanged Container greeter-api",
		"docker SUCCEEDED",
	}
	got := deploySummary(evs)
	if diff := cmp.Diff(want, got[:min(len(want), len(got))]); diff != "" {
		t.Errorf("iteration 2's deploy (-want +got):\n%s", diff)
	}
	if page := httpGet(t, base); !strings.Contains(page, "changed by the test") {
		t.Errorf("after the edit the page is %q", page)
	}
	if api, err := c.ContainerInspect(t.Context(), "greeter-api"); err != nil || api.ID != first.ID {
		t.Errorf("greeter-api was replaced (%v), though its image did not change", err)
	}

	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s", code, d.stderr)
	}
	evs = d.events()
	checkRun(t, evs, pb.Status_SUCCEEDED)
	got = deploySummary(evs)
	want = []string{
		"docker IN_PROGRESS",
		"docker IN_PROGRESS deleted Container greeter-web",
		"docker IN_PROGRESS deleted Container greeter-api",
		"docker IN_PROGRESS deleted Network " + net,
		"docker SUCCEEDED",
	}
	if diff := cmp.Diff(want, got[max(0, len(got)-len(want)):]); diff != "" {
		t.Errorf("cleanup (-want +got):\n%s", diff)
	}
	if left := deployed(t, c, project); len(left) > 0 {
		t.Errorf("left after Ctrl-C: %v", left)
	}
}

// hoist diagnose prints deploy.docker and the container ports back, and
// names the deployer.
func TestDockerDeployerDiagnose(t *testing.T) {
	cfg := filepath.Join(testutil.Root(t), "examples", "docker-deployer", "skaffold.yaml")
	r := runPlain(t.Context(), "diagnose", "-f", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Deployer: docker\n", "\n  docker:\n    images:\n      - greeter-web\n      - greeter-api\n",
		"\n  - resourceType: container\n    resourceName: greeter-web\n    port: 8080\n    localPort: 9080\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("diagnose's output lacks %q:\n%s", want, r.stdout)
		}
	}
}
