package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	skaffoldv1 "github.com/hoist-dev/hoist/api/skaffold/v1"
	skaffoldv2 "github.com/hoist-dev/hoist/api/skaffold/v2"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// failingBuild writes a project whose one custom artifact prints lines of
// output and fails, which makes events without an image, a Docker engine
// or a cluster; it returns the skaffold.yaml.
func failingBuild(t *testing.T, lines int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "app", "README"), []byte("the build prints lines and fails\n"))
	writeFile(t, filepath.Join(dir, "skaffold.yaml"), fmt.Appendf(nil, `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy: {sha256: {}}
  artifacts:
  - image: app
    context: app
    custom:
      buildCommand: "seq -f 'line %%.0f of the build output' 1 %d; exit 3"
`, lines))
	return filepath.Join(dir, "skaffold.yaml")
}

// servedOn returns the address of the Event API that hoist's stderr says
// it serves, once it says so.
func servedOn(t *testing.T, stderr *lockedBuffer, what string) string {
	t.Helper()
	re := regexp.MustCompile(`serving ` + regexp.QuoteMeta(what) + ` of run \S+ on (?:http://)?(127\.0\.0\.1:\d+)`)
	var addr string
	waitFor(t, func() bool {
		m := re.FindStringSubmatch(stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

// gatewayStream reads a stream of Skaffold's HTTP gateway to its end, as
// curl -N does: the result of each line, and the error lines.
func gatewayStream(t *testing.T, url string) (results []string, errs []string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %s, %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("GET %s: line %q: %v", url, sc.Text(), err)
		}
		switch {
		case line["result"] != nil:
			results = append(results, string(line["result"]))
		case line["error"] != nil:
			errs = append(errs, string(line["error"]))
		default:
			t.Fatalf("GET %s: line %q is neither a result nor an error", url, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return results, errs
}

// buildLines counts the lines of build output in v2 events, each in the
// JSON of results.
func buildLines(t *testing.T, results []string) int {
	t.Helper()
	n := 0
	for _, r := range results {
		var ev skaffoldv2.Event
		if err := protojson.Unmarshal([]byte(r), &ev); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if strings.HasSuffix(ev.GetSkaffoldLogEvent().GetMessage(), " of the build output\n") {
			n++
		}
	}
	return n
}

// TestSkaffoldAPIDuringBuild runs hoist build with Skaffold's flags
// --rpc-http-port (without --rpc-port, so gRPC gets a free port) and
// --wait-for-connection, streams /v2/events as curl -N would from the
// start, then, while the server lingers, reads v2's Events with grpcurl
// and /v1/state, and checks the Skaffold event log files written as the
// run went.
func TestSkaffoldAPIDuringBuild(t *testing.T) {
	grpcurl := testutil.Tool(t, "grpcurl")
	const lines = 5000
	cfg := failingBuild(t, lines)
	httpPort := freePort(t)
	gw := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	logFile := filepath.Join(t.TempDir(), "skaffold-events.json")
	stderr := &lockedBuffer{}
	cmd := exec.Command(hoistBinary(t), "build", "-f", cfg, "--rpc-http-port", strconv.Itoa(httpPort), "--wait-for-connection",
		"--rpc-linger", "20s", "--skaffold-event-log-file", logFile, "--event-format", "text", "--event-level", "error")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	addr := servedOn(t, stderr, "the Event API")
	servedOn(t, stderr, "Skaffold's HTTP API")

	// The run waits for this subscriber, which therefore gets every line.
	results, errs := gatewayStream(t, gw+"/v2/events")
	if len(errs) != 0 {
		t.Errorf("/v2/events ended with %v", errs)
	}
	if got := buildLines(t, results); got != lines {
		t.Errorf("/v2/events carried %d lines of build output, want %d", got, lines)
	}
	last := results[len(results)-1]
	if !strings.Contains(last, `"terminationEvent":{"status":"Failed"`) {
		t.Errorf("/v2/events ended with %s, want the failed run's terminationEvent", last)
	}
	if all := strings.Join(results, "\n"); !strings.Contains(results[0], `"metaEvent":{"entry":`) ||
		!strings.Contains(all, `"task_id":"Build-0"`) || strings.Contains(all, `"taskId"`) {
		t.Errorf("/v2/events does not start with the metaEvent, or is not in proto field names: %.300s", results[0])
	}

	// grpcurl, through reflection, while the server lingers.
	out, err := exec.Command(grpcurl, "-plaintext", addr, "list").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "proto.SkaffoldService") || !strings.Contains(string(out), "proto.v2.SkaffoldV2Service") {
		t.Errorf("grpcurl list: %v\n%s", err, out)
	}
	out, err = exec.Command(grpcurl, "-plaintext", "-max-msg-sz", "100000000", addr, "proto.v2.SkaffoldV2Service/Events").CombinedOutput()
	// grpcurl prints each message as indented JSON: a line of output is
	// one skaffoldLogEvent's message.
	if n := strings.Count(string(out), `"message": "line `); err != nil || n != lines || !strings.Contains(string(out), `"terminationEvent"`) {
		t.Errorf("grpcurl proto.v2.SkaffoldV2Service/Events: %v, %d lines of build output, want %d\n%.2000s", err, n, lines, out)
	}

	resp, err := http.Get(gw + "/v1/state")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var st skaffoldv1.State
	if err := protojson.Unmarshal(body, &st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/state: %s %v\n%s", resp.Status, err, body)
	}
	if got := st.GetBuildState().GetArtifacts()["app"]; got != "Failed" {
		t.Errorf("GET /v1/state: app's build is %q, want Failed\n%s", got, body)
	}
	if !strings.Contains(string(body), `"buildState":{`) || !strings.Contains(string(body), `"forwardedPorts":{}`) {
		t.Errorf("GET /v1/state is not in proto field names with empty fields written:\n%s", body)
	}

	_ = cmd.Process.Signal(os.Interrupt) // the linger ends early
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code tells
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("hoist build did not stop\n%s", stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("hoist build exited %d, want 3 (the build's failure)\n%s", code, stderr)
	}

	// The event log files: v1's log entries, v2's events without
	// application logs, each line one JSON object in JSON field names.
	v1 := readLines(t, logFile)
	v2 := readLines(t, logFile+".v2")
	if len(v2) != len(results) {
		t.Errorf("%s.v2 has %d events, /v2/events sent %d", logFile, len(v2), len(results))
	}
	var entry skaffoldv1.LogEntry
	if len(v1) == 0 || protojson.Unmarshal([]byte(v1[0]), &entry) != nil || entry.GetEvent().GetMetaEvent() == nil {
		t.Errorf("%s does not start with the metaEvent's log entry: %v", logFile, v1)
	}
	if !strings.Contains(strings.Join(v1, "\n"), `"entry":"Build failed for artifact app"`) {
		t.Errorf("%s has no entry for the failed build:\n%s", logFile, strings.Join(v1, "\n"))
	}
	if n := strings.Count(strings.Join(v2, "\n"), `"taskId":"Build-0"`); n < lines {
		t.Errorf("%s.v2 has %d events of task Build-0, want the %d lines at least", logFile, n, lines)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		if !json.Valid([]byte(line)) {
			t.Fatalf("%s: line %q is not JSON", path, line)
		}
		out = append(out, strings.TrimSpace(line))
	}
	return out
}

// TestEnableRPCAlone serves the API on a free port, as Skaffold's
// --enable-rpc does without a port.
func TestEnableRPCAlone(t *testing.T) {
	cfg := failingBuild(t, 1)
	stderr := &lockedBuffer{}
	cmd := exec.Command(hoistBinary(t), "build", "-f", cfg, "--enable-rpc=true", "--rpc-linger", "20s", "--event-format", "text")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	addr := servedOn(t, stderr, "the Event API")
	// Connect's JSON over plain HTTP answers on it.
	resp, err := http.Post("http://"+addr+"/proto.v2.SkaffoldV2Service/GetState", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"buildState"`) {
		t.Errorf("GetState over Connect's JSON: %s\n%s", resp.Status, body)
	}
}

// TestSkaffoldAPIToken: with --rpc-token, Skaffold's services on
// --rpc-port and its HTTP gateway on --rpc-http-port refuse a client
// without the token, and answer one with it.
func TestSkaffoldAPIToken(t *testing.T) {
	cfg := failingBuild(t, 1)
	httpPort := freePort(t)
	gw := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	stderr := &lockedBuffer{}
	cmd := exec.Command(hoistBinary(t), "build", "-f", cfg, "--rpc-http-port", strconv.Itoa(httpPort), "--rpc-token", "s3cret",
		"--rpc-linger", "30s", "--event-format", "text")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	addr := servedOn(t, stderr, "the Event API")
	servedOn(t, stderr, "Skaffold's HTTP API")
	for _, tc := range []struct {
		name, method, url, body, token string
		want                           int
	}{
		{"gateway stream without the token", http.MethodGet, gw + "/v2/events", "", "", http.StatusUnauthorized},
		{"gateway state with a wrong token", http.MethodGet, gw + "/v1/state", "", "guess", http.StatusUnauthorized},
		{"gateway control without the token", http.MethodPut, gw + "/v2/build/auto_execute", `{"enabled":false}`, "", http.StatusUnauthorized},
		{"gateway state with the token", http.MethodGet, gw + "/v2/state", "", "s3cret", http.StatusOK},
		{"v2 over Connect without the token", http.MethodPost, "http://" + addr + "/proto.v2.SkaffoldV2Service/GetState", "{}", "", http.StatusUnauthorized},
		{"v1 over Connect with the token", http.MethodPost, "http://" + addr + "/proto.SkaffoldService/GetState", "{}", "s3cret", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s: %s, want %d\n%s", tc.method, tc.url, resp.Status, tc.want, body)
			}
		})
	}
}

// TestSkaffoldEventsKeepUpWithAMillionLines builds a project that prints
// a million lines (a hundred thousand with -short) with a /v2/events
// subscriber connected from the start, as Cloud Code connects: it gets
// every line, in order, and the stream ends with the run, not cut.
func TestSkaffoldEventsKeepUpWithAMillionLines(t *testing.T) {
	lines := 1_000_000
	if testing.Short() {
		lines = 100_000
	}
	cfg := failingBuild(t, lines)
	httpPort := freePort(t)
	stderr := &lockedBuffer{}
	cmd := exec.Command(hoistBinary(t), "build", "-f", cfg, "--rpc-http-port", strconv.Itoa(httpPort), "--wait-for-connection",
		"--rpc-linger", "0s", "--event-format", "text", "--event-level", "error")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	servedOn(t, stderr, "Skaffold's HTTP API")
	start := time.Now()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(httpPort) + "/v2/events")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	next, events, last := 1, 0, ""
	for sc.Scan() {
		events++
		last = sc.Text()
		if _, after, ok := strings.Cut(last, `"message":"line `); ok {
			n, _, _ := strings.Cut(after, " ")
			if n != strconv.Itoa(next) {
				t.Fatalf("line %s came where line %d was due", n, next)
			}
			next++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if next-1 != lines {
		t.Errorf("/v2/events carried %d lines of build output, want %d", next-1, lines)
	}
	if !strings.Contains(last, `"terminationEvent"`) {
		t.Errorf("/v2/events ended with %.300s, want the terminationEvent", last)
	}
	_ = cmd.Wait() // the build fails, as it is made to
	t.Logf("%d events in %v: %.0f events/s", events, took, float64(events)/took.Seconds())
}
