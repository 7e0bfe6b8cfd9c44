package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/testutil"
	"github.com/hoist-dev/hoist/pkg/client"
)

// counterProject writes a config without artifacts that deploys a
// Deployment "counter" of image: an init container "setup" prints two
// lines, then the container "counter" prints "run R line I" for I from 1
// to lines, in its Rth run; its first run then exits 1, so that the
// kubelet restarts it, and the next ones sleep. It returns the config's
// path.
func counterProject(t testing.TB, image string, lines int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`run=$(cat /state/runs 2>/dev/null || echo 0); run=$((run+1)); echo $run > /state/runs; `+
		`i=1; while [ $i -le %d ]; do echo "run $run line $i"; i=$((i+1)); done; `+
		`if [ $run = 1 ]; then echo "run 1 fails" >&2; exit 1; fi; sleep 3600`, lines)
	writeFile(t, filepath.Join(dir, "skaffold.yaml"), []byte(`apiVersion: skaffold/v4beta14
kind: Config
manifests:
  rawYaml: [k8s/*.yaml]
deploy:
  kubectl: {}
  statusCheckDeadlineSeconds: 120
  # The container crashes once, on purpose.
  tolerateFailuresUntilDeadline: true
`))
	writeFile(t, filepath.Join(dir, "k8s", "counter.yaml"), fmt.Appendf(nil, `apiVersion: apps/v1
kind: Deployment
metadata: {name: counter}
spec:
  replicas: 1
  selector: {matchLabels: {app: counter}}
  template:
    metadata: {labels: {app: counter}}
    spec:
      terminationGracePeriodSeconds: 1
      volumes: [{name: state, emptyDir: {}}]
      initContainers:
      - name: setup
        image: %[1]s
        command: [sh, -c, 'echo "setting up"; echo "set up"']
      containers:
      - name: counter
        image: %[1]s
        volumeMounts: [{name: state, mountPath: /state}]
        command: [sh, -c, %[2]q]
`, image, script))
	return filepath.Join(dir, "skaffold.yaml")
}

// appLogs are the application log lines of events, as
// "namespace/pod/container: message".
func appLogs(evs []*pb.Envelope) []string {
	var out []string
	for _, e := range evs {
		if l := e.Event.GetApplicationLogEvent(); l != nil {
			out = append(out, l.Namespace+"/"+l.Pod+"/"+l.Container+": "+l.Message)
		}
	}
	return out
}

// hoist run --tail follows the pod it deployed on the real node until
// Ctrl-C: the init container's lines, then every line of the container's
// first run, which crashes, and of its second, each once and in order, as
// applicationLogEvents on stdout and in the event log file alike.
func TestRunTailFollowsLogsAcrossARestart(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	const lines = 1000
	cfg := counterProject(t, docker.BaseImage, lines)
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	done := make(chan result, 1)
	go func() { done <- run(t, ctx, "run", "--tail", "-f", cfg, "-n", ns, "--event-log-file", logFile) }()

	var want []string
	for run := 1; run <= 2; run++ {
		for i := 1; i <= lines; i++ {
			want = append(want, fmt.Sprintf("run %d line %d", run, i))
		}
	}
	counter := func(evs []*pb.Envelope) (pod string, got []string) {
		for _, e := range evs {
			// What the container prints on stdout; its stderr line may
			// come anywhere among them: the kubelet's log interleaves the
			// two streams as the runtime reads them.
			if l := e.Event.GetApplicationLogEvent(); l.GetContainer() == "counter" && strings.Contains(l.Message, " line ") {
				pod = l.Pod
				got = append(got, l.Message)
			}
		}
		return pod, got
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_, got := counter(testutil.EventLog(t, logFile))
		if len(got) >= len(want) {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("hoist run --tail ended by itself: exit %d\n%s", r.code, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines arrived; the last: %q", len(got), len(want), got[max(0, len(got)-3):])
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A line repeated would come late: give it the time to.
	time.Sleep(2 * time.Second)
	interrupt()
	r := <-done
	if r.code != 0 {
		t.Fatalf("hoist run --tail after Ctrl-C: exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	if diff := cmp.Diff(canonical(t, r.stdout), canonical(t, readFile(logFile))); diff != "" {
		t.Errorf("the event log file differs from stdout:\n%s", diff)
	}
	pod, got := counter(r.events)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the counter's lines, in order, each once (-want +got):\n%s", diff)
	}
	p, err := client.CoreV1().Pods(ns).Get(t.Context(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != testutil.RealNode || p.Status.ContainerStatuses[0].RestartCount < 1 || p.Labels["hoist.dev/run-id"] != r.events[0].EventId {
		t.Errorf("the pod on %s, %d restarts, labels %v", p.Spec.NodeName, p.Status.ContainerStatuses[0].RestartCount, p.Labels)
	}
	var setup, stderr []string
	for _, l := range appLogs(r.events) {
		if rest, ok := strings.CutPrefix(l, ns+"/"+pod+"/setup: "); ok {
			setup = append(setup, rest)
		}
		if strings.HasSuffix(l, "/counter: run 1 fails") {
			stderr = append(stderr, l)
		}
	}
	if diff := cmp.Diff([]string{"setting up", "set up"}, setup); diff != "" {
		t.Errorf("the init container's lines (-want +got):\n%s", diff)
	}
	if len(stderr) != 1 {
		t.Errorf("the line on stderr came %d times", len(stderr))
	}
	// The logs follow the status check's start, and the run ends after
	// them.
	first := slices.IndexFunc(r.events, func(e *pb.Envelope) bool { return e.Event.GetApplicationLogEvent() != nil })
	deployed := slices.IndexFunc(r.events, func(e *pb.Envelope) bool { return e.Event.GetDeployEvent().GetStatus() == pb.Status_SUCCEEDED })
	if first < deployed {
		t.Errorf("a log line (event %d) came before the deploy ended (event %d)", first+1, deployed+1)
	}
}

// --event-level warn keeps the log lines off stdout; the event log file
// has them, and the text form prefixes them as deploy.logs says.
func TestTailLevelsAndTextPrefix(t *testing.T) {
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	cfg := counterProject(t, docker.BaseImage, 3)
	writeFile(t, cfg, []byte(readFile(cfg)+"  logs: {prefix: container}\n"))
	for _, tt := range []struct {
		name string
		args []string
		// check reads stdout and the event log file.
		check func(t *testing.T, stdout string, file []*pb.Envelope)
	}{
		{"warn level", []string{"--event-level", "warn"}, func(t *testing.T, stdout string, file []*pb.Envelope) {
			if strings.Contains(stdout, "applicationLogEvent") {
				t.Errorf("stdout at warn has log lines:\n%s", stdout)
			}
		}},
		{"text", []string{"--event-format", "text"}, func(t *testing.T, stdout string, file []*pb.Envelope) {
			if !strings.Contains(stdout, " [counter] run 2 line 3\n") || !strings.Contains(stdout, " [setup] set up\n") {
				t.Errorf("the text form lacks [counter] and [setup] lines:\n%s", stdout)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "events.jsonl")
			ctx, interrupt := context.WithCancel(t.Context())
			defer interrupt()
			done := make(chan result, 1)
			go func() {
				done <- runPlain(ctx, append([]string{"run", "--tail", "-f", cfg, "-n", ns, "--event-log-file", logFile}, tt.args...)...)
			}()
			deadline := time.Now().Add(2 * time.Minute)
			for !slices.ContainsFunc(appLogs(testutil.EventLog(t, logFile)), func(l string) bool { return strings.HasSuffix(l, "run 2 line 3") }) {
				if time.Now().After(deadline) {
					t.Fatalf("the second run's last line did not arrive: %q", appLogs(testutil.EventLog(t, logFile)))
				}
				time.Sleep(200 * time.Millisecond)
			}
			interrupt()
			r := <-done
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			tt.check(t, r.stdout, testutil.EventLog(t, logFile))
		})
	}
}

// hoist dev follows its pods from the first iteration on, and the new
// pods of each redeploy, which carry the same run id.
func TestDevFollowsThePodsOfEachRedeploy(t *testing.T) {
	docker := testutil.Docker(t)
	client, ns := namespace(t, testutil.Kubernetes(t))
	// The page is edited to roll the pods out, not to sync it.
	d := startDev(t, docker, ns, "--auto-sync=false")
	if st, _ := d.iteration(1, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("first iteration %s\n%s", st, d.stderr)
	}
	serving := func() map[string]bool {
		pods := map[string]bool{}
		for _, l := range appLogs(d.events()) {
			if strings.HasSuffix(l, "/web: getting-started: serving /app/www on port 8080") {
				pods[strings.Split(l, "/")[1]] = true
			}
		}
		return pods
	}
	waitFor := func(n int, what string) map[string]bool {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(serving()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the pods that said they serve: %v\n%s", what, serving(), d.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
		return serving()
	}
	first := waitFor(2, "the first deploy's two pods")
	d.write("app/www/index.html", "<h1>a new page, new pods</h1>\n")
	if st, _ := d.iteration(2, 90*time.Second); st != pb.Status_SUCCEEDED {
		t.Fatalf("second iteration %s\n%s", st, d.stderr)
	}
	all := waitFor(4, "the redeploy's two new pods")
	pods, err := client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "hoist.dev/run-id=" + d.events()[0].EventId})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && (first[p.Name] || !all[p.Name]) {
			t.Errorf("pod %s of the redeploy: its lines were not followed (first pods %v, all %v)", p.Name, first, all)
		}
	}
	if code := d.interrupt(); code != 0 {
		t.Fatalf("exit %d\n%s", code, d.stderr)
	}
	checkRun(t, d.events(), pb.Status_SUCCEEDED)
}

// BenchmarkApplicationLogs measures issue 17's target: a container that
// prints 100k lines as fast as it can (busybox seq) has every one of
// them delivered, in order and none lost, to the event log file and to a
// subscriber of the Event API attached from the start, by hoist run
// --tail. It reports the medians of: the time from the first line's
// event to the last line's (ms-first-to-last-event, the follower and the
// bus), and from the first line's event to the last line being in the
// file (ms-to-file) and at the subscriber (ms-to-subscriber), and the
// lines per second that makes at the subscriber.
func BenchmarkApplicationLogs(b *testing.B) {
	const lines = 100_000
	docker := testutil.Docker(b)
	kube := testutil.Kubernetes(b)
	hoist := hoistBinary(b)
	var published, toFile, toSubscriber []time.Duration
	for i := range b.N {
		_, ns := namespace(b, kube)
		dir := b.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "k8s"), 0o755); err != nil {
			b.Fatal(err)
		}
		writeFile(b, filepath.Join(dir, "skaffold.yaml"), []byte("apiVersion: skaffold/v4beta14\nkind: Config\nmanifests: {rawYaml: [k8s/*.yaml]}\ndeploy: {kubectl: {}}\n"))
		writeFile(b, filepath.Join(dir, "k8s", "printer.yaml"), []byte(strings.ReplaceAll(deploymentYAML(1, "",
			fmt.Sprintf("        command: [sh, -c, 'seq 1 %d; sleep 3600']\n", lines)), "image: app", "image: "+docker.BaseImage)))
		logFile := filepath.Join(dir, "events.jsonl")
		port := freePort(b)
		cmd := exec.Command(hoist, "run", "--tail", "-f", filepath.Join(dir, "skaffold.yaml"), "-n", ns,
			"--event-log-file", logFile, "--rpc-port", strconv.Itoa(port))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Wait()
		}

		// The subscriber, from the run's first event.
		type arrival struct {
			at  time.Time
			err error
		}
		subscribed := make(chan arrival, 1)
		go func() {
			c, err := client.New("127.0.0.1:" + strconv.Itoa(port))
			if err != nil {
				subscribed <- arrival{err: err}
				return
			}
			ctx, cancel := context.WithTimeout(b.Context(), 3*time.Minute)
			defer cancel()
			next, any := 1, false
			done := errors.New("done")
			for {
				err = c.Events(ctx, &pb.EventsRequest{AfterSequence: 0}, func(env *pb.Envelope) error {
					any = true
					l := env.Event.GetApplicationLogEvent()
					if l == nil {
						return nil
					}
					if l.Message != strconv.Itoa(next) {
						return fmt.Errorf("the subscriber got line %q, want %d", l.Message, next)
					}
					if next++; next > lines {
						return done
					}
					return nil
				})
				if any || ctx.Err() != nil {
					break
				}
				time.Sleep(20 * time.Millisecond) // not listening yet
			}
			if errors.Is(err, done) {
				err = nil
			}
			subscribed <- arrival{at: time.Now(), err: err}
		}()

		// The event log file, read as it grows.
		var inFile time.Time
		var off int64
		count := 0
		deadline := time.Now().Add(3 * time.Minute)
		for count < lines {
			if time.Now().After(deadline) {
				stop()
				b.Fatalf("%d of %d lines in the event log file\n%s", count, lines, stderr.String())
			}
			f, err := os.Open(logFile)
			if err == nil {
				data, _ := io.ReadAll(io.NewSectionReader(f, off, 1<<40))
				_ = f.Close()
				whole := bytes.LastIndexByte(data, '\n') + 1
				count += bytes.Count(data[:whole], []byte(`"applicationLogEvent"`))
				off += int64(whole)
			}
			inFile = time.Now()
			time.Sleep(10 * time.Millisecond)
		}
		sub := <-subscribed
		stop()
		if sub.err != nil {
			b.Fatalf("the subscriber: %v\n%s", sub.err, stderr.String())
		}
		var first, last time.Time
		next := 1
		for _, e := range testutil.EventLog(b, logFile) {
			l := e.Event.GetApplicationLogEvent()
			if l == nil {
				continue
			}
			if l.Message != strconv.Itoa(next) {
				b.Fatalf("line %d of the event log file is %q", next, l.Message)
			}
			if next == 1 {
				first = e.Event.Timestamp.AsTime()
			}
			last = e.Event.Timestamp.AsTime()
			next++
		}
		if next != lines+1 {
			b.Fatalf("the event log file has %d lines, want %d", next-1, lines)
		}
		published = append(published, last.Sub(first))
		toFile = append(toFile, inFile.Sub(first))
		toSubscriber = append(toSubscriber, sub.at.Sub(first))
		b.Logf("run %d: %d lines, first to last event %v, in the file after %v, at the subscriber after %v",
			i+1, lines, last.Sub(first).Round(time.Millisecond), inFile.Sub(first).Round(time.Millisecond), sub.at.Sub(first).Round(time.Millisecond))
	}
	b.ReportMetric(float64(median(published).Milliseconds()), "ms-first-to-last-event")
	b.ReportMetric(float64(median(toFile).Milliseconds()), "ms-to-file")
	b.ReportMetric(float64(median(toSubscriber).Milliseconds()), "ms-to-subscriber")
	b.ReportMetric(lines/median(toSubscriber).Seconds(), "lines/s")
}
