package cli_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
	"github.com/hoist-dev/hoist/internal/testutil/termshot"
)

var (
	// sgr is an escape sequence of colors and styles.
	sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	// cursorUp is the escape sequence that takes the cursor back up.
	cursorUp = regexp.MustCompile(`\x1b\[[0-9]*A`)
)

// terminalEnv is the test's environment with TERM, CI and NO_COLOR
// replaced by set: a person's terminal unless set says otherwise.
func terminalEnv(set ...string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, k := range []string{"TERM=", "CI=", "NO_COLOR="} {
			if strings.HasPrefix(kv, k) {
				return true
			}
		}
		return false
	})
	return append(append(env, "TERM=xterm-256color"), set...)
}

// jsonEvents reads output as JSON lines of events, each checked against
// the schema; a terminal ends them with \r\n.
func jsonEvents(t *testing.T, output []byte) []*pb.Envelope {
	t.Helper()
	var envs []*pb.Envelope
	for line := range strings.Lines(strings.ReplaceAll(string(output), "\r\n", "\n")) {
		env, err := event.UnmarshalJSON([]byte(line))
		if err != nil {
			t.Fatalf("output line is not an event: %v: %q", err, line)
		}
		testutil.ValidateEvent(t, []byte(line))
		envs = append(envs, env)
	}
	return envs
}

// TestTerminalView runs hoist build as a person and as a program would:
// on a terminal it shows the human view, live while the build runs; in a
// pipe, or with --event-format json, JSON lines; without colors under
// NO_COLOR; as plain lines where the terminal cannot be redrawn.
func TestTerminalView(t *testing.T) {
	reg := startRegistry(t)
	// A build that prints a line every 100ms for a second: long enough for
	// frames of the live view.
	slow := slowProject(t, 10)
	args := []string{"build", "-f", slow, "--default-repo", reg, "--cache-artifacts=false"}
	hoist := hoistBinary(t)
	builtLine := regexp.MustCompile(`(?m)^✓ built +slow +` + regexp.QuoteMeta(reg) + `/slow:v1@sha256:[0-9a-f]{64} +\d+\.\ds$`)
	succeeded := regexp.MustCompile(`(?m)^✓ hoist build SUCCEEDED in \d+\.\ds$`)

	t.Run("terminal", func(t *testing.T) {
		cmd := exec.Command(hoist, args...)
		cmd.Env = terminalEnv()
		rec, err := termshot.Run(cmd, 120, 30)
		if err != nil {
			t.Fatalf("hoist build: %v\n%s", err, rec.Bytes())
		}
		raw := rec.Bytes()
		if bytes.Contains(raw, []byte(`{"apiVersion"`)) {
			t.Errorf("the terminal got JSON:\n%s", raw)
		}
		// While it builds, a live line says so, with the time it took so
		// far and the last line the build printed.
		live := regexp.MustCompile(`^⠋|^⠙|^⠹|^⠸|^⠼|^⠴|^⠦|^⠧|^⠇|^⠏`)
		var frames []string
		rec.Replay(func(s *termshot.Screen, _ termshot.Chunk) bool {
			for _, l := range s.Visible() {
				if live.MatchString(l) {
					frames = append(frames, l)
				}
			}
			return true
		})
		progress := regexp.MustCompile(`^. building +slow +\d+\.\ds +› compiling unit \d+$`)
		if !slices.ContainsFunc(frames, progress.MatchString) {
			t.Errorf("no frame showed the build in progress; live lines seen: %q", frames)
		}
		final := rec.Replay(nil).Text()
		if !builtLine.MatchString(final) || !succeeded.MatchString(final) {
			t.Errorf("the terminal does not show the built image and the run's end:\n%s", final)
		}
		if live.MatchString(final) || strings.Contains(final, "building") {
			t.Errorf("live lines left on the terminal after the end:\n%s", final)
		}
		if !sgr.Match(raw) {
			t.Errorf("no colors on a terminal:\n%q", raw)
		}
	})

	t.Run("pipe", func(t *testing.T) {
		cmd := exec.Command(hoist, args...)
		cmd.Env = terminalEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("hoist build: %v\n%s", err, stderr.String())
		}
		checkRun(t, jsonEvents(t, out), pb.Status_SUCCEEDED)
	})

	t.Run("json on a terminal", func(t *testing.T) {
		cmd := exec.Command(hoist, append(args, "--event-format", "json")...)
		cmd.Env = terminalEnv()
		rec, err := termshot.Run(cmd, 120, 30)
		if err != nil {
			t.Fatalf("hoist build: %v\n%s", err, rec.Bytes())
		}
		checkRun(t, jsonEvents(t, rec.Bytes()), pb.Status_SUCCEEDED)
	})

	t.Run("NO_COLOR", func(t *testing.T) {
		cmd := exec.Command(hoist, args...)
		cmd.Env = terminalEnv("NO_COLOR=1")
		rec, err := termshot.Run(cmd, 120, 30)
		if err != nil {
			t.Fatalf("hoist build: %v\n%s", err, rec.Bytes())
		}
		if m := sgr.Find(rec.Bytes()); m != nil {
			t.Errorf("NO_COLOR: an escape code of colors (%q) in:\n%q", m, rec.Bytes())
		}
		if final := rec.Replay(nil).Text(); !builtLine.MatchString(final) || !succeeded.MatchString(final) {
			t.Errorf("NO_COLOR: not the human view:\n%s", final)
		}
	})

	// Where the terminal cannot be redrawn, the view is plain lines: the
	// timeline of the text form, then the summary.
	for _, env := range []string{"TERM=dumb", "CI=true"} {
		t.Run(env, func(t *testing.T) {
			cmd := exec.Command(hoist, args...)
			cmd.Env = terminalEnv(env)
			rec, err := termshot.Run(cmd, 120, 30)
			if err != nil {
				t.Fatalf("hoist build: %v\n%s", err, rec.Bytes())
			}
			raw := rec.Bytes()
			if m := cursorUp.Find(raw); m != nil {
				t.Errorf("%s: the cursor was moved (%q):\n%q", env, m, raw)
			}
			text := strings.ReplaceAll(string(raw), "\r\n", "\n")
			timeline := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} start +hoist build, hoist version \S+, run id \S+, artifacts slow$`)
			for _, want := range []*regexp.Regexp{timeline, regexp.MustCompile(`(?m)^\S+   slow │ compiling unit 10$`),
				regexp.MustCompile(`(?m)^  built +slow +` + regexp.QuoteMeta(reg) + `/slow:v1@sha256:`), succeeded} {
				if !want.MatchString(sgr.ReplaceAllString(text, "")) {
					t.Errorf("%s: no line matches %s in:\n%s", env, want, text)
				}
			}
		})
	}

	// A failed build shows the output of the failed step in full, and
	// why the run ended.
	t.Run("failure", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "skaffold.yaml")
		writeFile(t, cfg, fmt.Appendf(nil, `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {envTemplate: {template: v1}}
  artifacts:
  - image: broken
    custom:
      buildCommand: %q
`, `for i in $(seq 1 40); do echo "test $i passed"; done; echo "test 41 FAILED: want 3, got 4"; exit 7`))
		cmd := exec.Command(hoist, "build", "-f", cfg, "--default-repo", reg, "--cache-artifacts=false")
		cmd.Env = terminalEnv("NO_COLOR=1")
		rec, err := termshot.Run(cmd, 120, 30)
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 3 {
			t.Fatalf("hoist build: %v, want exit code 3\n%s", err, rec.Bytes())
		}
		lines := rec.Replay(nil).Lines()
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "✗ failed     broken") })
		if i < 0 || len(lines) < i+42 {
			t.Fatalf("no failure with its output:\n%s", strings.Join(lines, "\n"))
		}
		for k := 1; k <= 40; k++ {
			if want := fmt.Sprintf("  │ test %d passed", k); lines[i+k] != want {
				t.Errorf("line %d of the output: %q, want %q", k, lines[i+k], want)
			}
		}
		if want := "  │ test 41 FAILED: want 3, got 4"; lines[i+41] != want {
			t.Errorf("last line of the output: %q, want %q", lines[i+41], want)
		}
		end := regexp.MustCompile(`^✗ hoist build FAILED in \d+\.\ds: BUILD_CUSTOM_COMMAND_FAILED, exit code 3$`)
		if !slices.ContainsFunc(lines[i:], end.MatchString) {
			t.Errorf("no line matches %s after the failure:\n%s", end, strings.Join(lines[i:], "\n"))
		}
	})
}

// screenshots is where TestTerminalViewOfARun draws what the terminal
// showed, for the README (hack/screenshots.sh).
var screenshots = flag.String("screenshots", "", "folder where TestTerminalViewOfARun writes the terminal view's screenshots (SVG)")

// viewProject writes a project of two images, web and api, whose Docker
// builds take a few seconds each, in parallel, and whose manifests
// deploy a Deployment of each and a Service that forwards web's port;
// it returns its skaffold.yaml.
func viewProject(t *testing.T, localPort int) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"web/Dockerfile": `ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN for i in 1 2 3 4 5 6; do echo "bundling the assets: chunk $i of 6"; sleep 1; done
COPY www/ /www/
RUN wc -c /www/index.html
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
`,
		"web/www/index.html": "<h1>hoist</h1>\n",
		"api/Dockerfile": `ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN for i in 1 2 3 4; do echo "compiling module $i of 4"; sleep 1; done
COPY v1/ /api/v1/
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/api"]
`,
		"api/v1/health": "ok\n",
		"k8s/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: web, ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
		"k8s/api.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {app: api}}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: api, image: api, ports: [{containerPort: 8080}]}
`,
		"skaffold.yaml": fmt.Sprintf(`apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {envTemplate: {template: v1}}
  local: {push: true, concurrency: 0}
  artifacts:
  - image: web
    context: web
    docker: {network: host, noCache: true, buildArgs: {BASE_IMAGE: "{{.HOIST_TEST_BASE_IMAGE}}"}}
  - image: api
    context: api
    docker: {network: host, noCache: true, buildArgs: {BASE_IMAGE: "{{.HOIST_TEST_BASE_IMAGE}}"}}
manifests:
  rawYaml: [k8s/*.yaml]
deploy:
  kubectl: {}
portForward:
- {resourceType: service, resourceName: web, port: 80, localPort: %d}
`, localPort),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, []byte(content))
	}
	return filepath.Join(dir, "skaffold.yaml")
}

// TestTerminalViewOfARun runs hoist run of a project of two images under
// a pseudo-terminal, as a person would: the two Docker builds show their
// steps side by side while they run; then the view shows the images
// built, the objects deployed, the workloads ready, the port forwarded,
// and after Ctrl-C the summary. With -screenshots it draws the moment
// both builds were under way and the end of the run as SVG images.
func TestTerminalViewOfARun(t *testing.T) {
	docker, kube := testutil.Docker(t), testutil.Kubernetes(t)
	_, ns := namespace(t, kube)
	port := freePort(t)
	cfg := viewProject(t, port)
	cmd := exec.Command(hoistBinary(t), "run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns,
		"--cache-artifacts=false", "--port-forward=user")
	cmd.Env = terminalEnv()
	const cols, rows = 140, 34
	s, err := termshot.Start(cmd, cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	forwarded := []byte("127.0.0.1:" + strconv.Itoa(port) + " →")
	if !s.WaitFor(4*time.Minute, func(r *termshot.Recording) bool { return bytes.Contains(sgr.ReplaceAll(r.Bytes(), nil), forwarded) }) {
		_ = s.Signal(syscall.SIGKILL)
		rec, _ := s.Wait()
		t.Fatalf("no forwarded port within 4 minutes:\n%s", rec.Replay(nil).Text())
	}
	if err := s.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Wait()
	final := rec.Replay(nil)
	if err != nil {
		t.Fatalf("hoist run: %v\n%s", err, final.Text())
	}

	// The moment both builds were at a step: the last frame that shows it.
	step := regexp.MustCompile(`^. step \d+/\d+ +(web|api) +\d+\.\ds +RUN `)
	both, chunk := -1, 0
	rec.Replay(func(sc *termshot.Screen, _ termshot.Chunk) bool {
		n := 0
		for _, l := range sc.Visible() {
			if step.MatchString(l) {
				n++
			}
		}
		if n == 2 {
			both = chunk
		}
		chunk++
		return true
	})
	if both < 0 {
		t.Errorf("no frame showed both builds at a step at once")
	}

	text := final.Text()
	reg := regexp.QuoteMeta(docker.Registry)
	for _, want := range []string{
		`(?m)^✓ built +web +` + reg + `/web:v1@sha256:[0-9a-f]{64} +\d+\.\ds$`,
		`(?m)^✓ built +api +` + reg + `/api:v1@sha256:[0-9a-f]{64} +\d+\.\ds$`,
		`(?m)^  kubectl +created +Deployment/` + ns + `/web$`,
		`(?m)^  kubectl +created +Service/` + ns + `/web$`,
		`(?m)^  kubectl +created +Deployment/` + ns + `/api$`,
		`(?m)^✓ deployed +kubectl +3 objects +\d+\.\ds$`,
		// The pods named after each may run past the terminal's width.
		`(?m)^✓ ready +Deployment/` + ns + `/web +rolled out: 2 of 2 replicas available; pods web-\S+ ready, web-`,
		`(?m)^✓ ready +Deployment/` + ns + `/api +rolled out: 1 of 1 replicas available; pods api-\S+ ready\b`,
		`(?m)^✓ checked +2 resources ready +\d+\.\ds$`,
		`(?m)^⇄ forward +service/web +127\.0\.0\.1:` + strconv.Itoa(port) + ` → ` + ns + `/web-\S+:8080$`,
		`(?m)^  deployed +kubectl +3 objects: 3 created +\d+\.\ds$`,
		`(?m)^  forwarded +service/web +127\.0\.0\.1:` + strconv.Itoa(port) + ` → ` + ns + `/web-\S+:8080$`,
		`(?m)^✓ hoist run SUCCEEDED in \d+\.\ds$`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("no line matches %s in:\n%s", want, text)
		}
	}
	if *screenshots != "" && both >= 0 {
		chunk = 0
		mid := rec.Replay(func(*termshot.Screen, termshot.Chunk) bool {
			chunk++
			return chunk <= both
		})
		for name, svg := range map[string][]byte{
			"terminal-build.svg": mid.SVG("hoist run", 0),
			"terminal-run.svg":   final.SVG("hoist run", 0),
		} {
			if err := os.WriteFile(filepath.Join(*screenshots, name), svg, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
