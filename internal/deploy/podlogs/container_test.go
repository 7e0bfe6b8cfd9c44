package podlogs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/hoist-dev/hoist/internal/wake"
)

// fakeState is a container's state that a test changes.
type fakeState struct {
	mu      sync.Mutex
	st      state
	changed wake.Signal
}

func (f *fakeState) get() (state, <-chan struct{}) {
	ch := f.changed.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, ch
}

func (f *fakeState) set(st state) {
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
	f.changed.Wake()
}

// entry is one line of a run's log.
type entry struct {
	ts   time.Time
	text string
}

// plan is what one call of the fake kubelet does: it writes the lines
// after since, cut is how many before the stream breaks (-1: it does not),
// and then runs when the stream ends.
type plan struct {
	cut  int
	then func()
}

// fakeKubelet serves the logs of a container's runs as the API server's
// pods/log does, and follows a script of calls.
type fakeKubelet struct {
	t     *testing.T
	state *fakeState

	mu    sync.Mutex
	runs  map[string][]entry
	plans []plan
	calls []string
}

// Logs implements Source.
func (k *fakeKubelet) Logs(_ context.Context, namespace, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if namespace != "ns" || pod != "web-1" || o.Container != "app" || !o.Timestamps {
		k.t.Errorf("a stream of %s/%s %s with %+v", namespace, pod, o.Container, o)
	}
	n := len(k.calls)
	if n >= len(k.plans) {
		k.t.Errorf("call %d is not in the script: %+v", n+1, o)
		return nil, errors.New("not in the script")
	}
	st, _ := k.state.get()
	id := st.current
	if o.Previous || id == "" {
		id = st.previous
	}
	call := fmt.Sprintf("%s follow=%v previous=%v", id, o.Follow, o.Previous)
	var since time.Time
	if o.SinceTime != nil {
		// What the API does: the time goes as RFC 3339 in seconds.
		since = o.SinceTime.Time.Truncate(time.Second)
		call += " since=" + since.Format("15:04:05")
	}
	k.calls = append(k.calls, call)
	var b bytes.Buffer
	written := 0
	p := k.plans[n]
	for _, e := range k.runs[id] {
		if e.ts.Before(since) {
			continue
		}
		if written == p.cut {
			// Half a line, then the break.
			b.WriteString(e.ts.Format("2006-01-02T15:04:05.000000000Z07:00") + " " + e.text[:len(e.text)/2])
			break
		}
		b.WriteString(e.ts.Format("2006-01-02T15:04:05.000000000Z07:00") + " " + e.text + "\n")
		written++
	}
	return &stream{r: bytes.NewReader(b.Bytes()), broken: p.cut >= 0, then: p.then}, nil
}

// stream is a log stream that ends with EOF, or breaks, and then runs
// its plan's then.
type stream struct {
	r      *bytes.Reader
	broken bool
	then   func()
	ended  bool
}

func (s *stream) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF && !s.ended {
		s.ended = true
		if s.then != nil {
			s.then()
		}
		if s.broken {
			return n, io.ErrUnexpectedEOF
		}
	}
	if err == io.EOF && s.broken {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (s *stream) Close() error { return nil }

// lines are n lines of a run, text "<run> <i>", from at, two of them
// (the 2nd and 3rd, and so on) at each instant, as a fast writer's.
func lines(run string, at time.Time, n int) []entry {
	out := make([]entry, n)
	for i := range out {
		out[i] = entry{ts: at.Add(time.Duration(i/2) * 300 * time.Millisecond), text: fmt.Sprintf("%s %d", run, i+1)}
	}
	return out
}

func texts(es ...[]entry) []string {
	var out []string
	for _, e := range es {
		for _, l := range e {
			out = append(out, l.text)
		}
	}
	return out
}

const (
	idA = "containerd://a"
	idB = "containerd://b"
	idC = "containerd://c"
)

// The follower's resume logic against a fake kubelet: each case is a
// script of streams and of the container's states, and the lines that
// must come out, each once, in order.
func TestContainerLogNeverLosesNorRepeats(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 900_000_000, time.UTC)
	runA, runB := lines("a", t0, 7), lines("b", t0.Add(time.Minute), 4)
	running := func(id, previous string) state { return state{current: id, running: true, previous: previous} }
	tests := []struct {
		name string
		// start is the state when the container is first seen.
		start state
		// script returns the plans of the calls, given the kubelet and
		// the state to change.
		script func(k *fakeKubelet, s *fakeState) []plan
		want   []string
		calls  []string
		warns  []string
	}{
		{
			name:  "a run followed to its end",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{{cut: -1, then: func() { s.set(state{current: idA, final: true}) }}}
			},
			want:  texts(runA),
			calls: []string{idA + " follow=true previous=false"},
		},
		{
			name:  "a broken stream resumes after its last line, among lines of the same instant",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{
					{cut: 4}, // a1..a4 read; a4 and a5 share their instant
					{cut: 1}, // broken again, right after a5
					{cut: -1, then: func() { s.set(state{current: idA, final: true}) }},
				}
			},
			want: texts(runA),
			calls: []string{idA + " follow=true previous=false",
				idA + " follow=true previous=false since=10:00:01",
				idA + " follow=true previous=false since=10:00:01"},
			warns: []string{"the log stream of a container broke", "the log stream of a container is reconnected",
				"the log stream of a container broke", "the log stream of a container is reconnected"},
		},
		{
			name:  "a stream closed under a run that goes on is opened again",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				full := k.runs[idA]
				k.runs[idA] = full[:3]
				return []plan{
					{cut: -1, then: func() { k.runs[idA] = full }},
					{cut: -1, then: func() { s.set(state{current: idA, final: true}) }},
				}
			},
			want: texts(runA),
			calls: []string{idA + " follow=true previous=false",
				idA + " follow=true previous=false since=10:00:01"},
		},
		{
			name:  "a restart while the stream is broken: the end of the run from the previous log",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{
					{cut: 3, then: func() { s.set(running(idB, idA)) }},
					{cut: -1}, // previous
					{cut: -1, then: func() { s.set(state{current: idB, previous: idA, final: true}) }},
				}
			},
			want: texts(runA, runB),
			calls: []string{idA + " follow=true previous=false",
				idA + " follow=false previous=true since=10:00:01",
				idB + " follow=true previous=false"},
			warns: []string{"the log stream of a container broke", "the log stream of a container is reconnected"},
		},
		{
			name:  "a crash while the stream is broken: the end of the run before it restarts",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{
					{cut: 5, then: func() { s.set(state{previous: idA}) }},
					{cut: -1, then: func() { s.set(running(idB, idA)) }},
					{cut: -1, then: func() { s.set(state{current: idB, previous: idA, final: true}) }},
				}
			},
			want: texts(runA, runB),
			calls: []string{idA + " follow=true previous=false",
				idA + " follow=false previous=true since=10:00:01",
				idB + " follow=true previous=false"},
			warns: []string{"the log stream of a container broke", "the log stream of a container is reconnected"},
		},
		{
			name:  "a pod that ends while the stream is broken: the end of the run from its log",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{
					{cut: 2, then: func() { s.set(state{current: idA, final: true}) }},
					{cut: -1},
				}
			},
			want: texts(runA),
			calls: []string{idA + " follow=true previous=false",
				idA + " follow=false previous=false since=10:00:00"},
			warns: []string{"the log stream of a container broke", "the log stream of a container is reconnected"},
		},
		{
			name:  "a run that ended and restarts is read from the previous log, once the next run started",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{
					{cut: 3, then: func() {
						s.set(state{current: idA, restarts: true})
						time.AfterFunc(100*time.Millisecond, func() { s.set(running(idB, idA)) })
					}},
					{cut: -1},
					{cut: -1, then: func() { s.set(state{current: idB, previous: idA, final: true}) }},
				}
			},
			want: texts(runA, runB),
			calls: []string{idA + " follow=true previous=false",
				idA + " follow=false previous=true since=10:00:01",
				idB + " follow=true previous=false"},
			warns: []string{"the log stream of a container broke", "the log stream of a container is reconnected"},
		},
		{
			name:  "first seen ended, in a pod that goes on (an init container): read at once",
			start: state{current: idA},
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{{cut: -1, then: func() { time.AfterFunc(100*time.Millisecond, func() { s.set(state{current: idA, final: true}) }) }}}
			},
			want:  texts(runA),
			calls: []string{idA + " follow=false previous=false"},
		},
		{
			name:  "a run that ended cleanly is not read again after the restart",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{
					{cut: -1, then: func() { s.set(state{previous: idA}); s.set(running(idB, idA)) }},
					{cut: -1, then: func() { s.set(state{current: idB, previous: idA, final: true}) }},
				}
			},
			want:  texts(runA, runB),
			calls: []string{idA + " follow=true previous=false", idB + " follow=true previous=false"},
		},
		{
			name:  "first seen after a restart: the earlier run whole, then the current one",
			start: running(idB, idA),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{
					{cut: -1},
					{cut: -1, then: func() { s.set(state{current: idB, previous: idA, final: true}) }},
				}
			},
			want:  texts(runA, runB),
			calls: []string{idA + " follow=false previous=true", idB + " follow=true previous=false"},
		},
		{
			name:  "first seen waiting to restart: the run that crashed",
			start: state{previous: idA},
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{{cut: -1, then: func() { s.set(state{previous: idA, final: true}) }}}
			},
			want:  texts(runA),
			calls: []string{idA + " follow=false previous=true"},
		},
		{
			name:  "first seen ended: the run's log, once",
			start: state{current: idA, final: true},
			script: func(k *fakeKubelet, s *fakeState) []plan {
				return []plan{{cut: -1}}
			},
			want:  texts(runA),
			calls: []string{idA + " follow=false previous=false"},
		},
		{
			name:  "two restarts while the stream is broken: the lost lines are told",
			start: running(idA, ""),
			script: func(k *fakeKubelet, s *fakeState) []plan {
				k.runs[idC] = lines("c", t0.Add(2*time.Minute), 2)
				return []plan{
					{cut: 3, then: func() { s.set(running(idC, idB)) }},
					{cut: -1, then: func() { s.set(state{current: idC, previous: idB, final: true}) }},
				}
			},
			want:  append(texts(runA[:3]), "c 1", "c 2"),
			calls: []string{idA + " follow=true previous=false", idC + " follow=true previous=false"},
			warns: []string{"the log stream of a container broke", "lost the last lines of a container's earlier run"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeState{st: tt.start}
			k := &fakeKubelet{t: t, state: s, runs: map[string][]entry{idA: runA, idB: runB}}
			k.plans = tt.script(k, s)
			var logs bytes.Buffer
			var mu sync.Mutex
			var got []string
			c := &containerLog{namespace: "ns", pod: "web-1", container: "app", src: k,
				log:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
				emit:  func(l Line) { mu.Lock(); got = append(got, l.Message); mu.Unlock() },
				watch: s.get, settle: 50 * time.Millisecond, backoff: backoff{min: time.Millisecond, max: 10 * time.Millisecond}}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			c.follow(ctx)
			if ctx.Err() != nil {
				t.Fatalf("the follower did not end with its pod; calls %q", k.calls)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.calls, k.calls); diff != "" {
				t.Errorf("streams opened (-want +got):\n%s", diff)
			}
			var warns []string
			for l := range strings.Lines(logs.String()) {
				for _, w := range []string{"the log stream of a container broke", "the log stream of a container is reconnected", "lost the last lines of a container's earlier run"} {
					if strings.Contains(l, w) {
						warns = append(warns, w)
					}
				}
			}
			if diff := cmp.Diff(tt.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s\n%s", diff, logs.String())
			}
		})
	}
}

// The cursor lets through each line once, whatever the stream repeats.
func TestCursor(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var c cursor
	if c.since() != nil {
		t.Fatal("a new cursor starts somewhere")
	}
	for _, ms := range []int{1, 2, 2, 1 /* stderr's, out of order */, 2} {
		if !c.admit(at(ms), true) {
			t.Fatalf("a first stream's line at %dms was held back", ms)
		}
	}
	if got := c.since().Time; !got.Equal(at(2)) {
		t.Errorf("since = %v", got)
	}
	c.resume()
	var let []int
	for _, ms := range []int{0, 1, 2, 2, 1, 2, 2, 3, 1} {
		if c.admit(at(ms), true) {
			let = append(let, ms)
		}
	}
	// The repeated lines (through the third at 2ms) are held back; past
	// them everything goes, the out-of-order line at 1ms too.
	if diff := cmp.Diff([]int{2, 3, 1}, let); diff != "" {
		t.Errorf("let through (-want +got):\n%s", diff)
	}
	if !c.admit(time.Time{}, false) {
		t.Error("a line without a timestamp was held back")
	}
}

func TestSplit(t *testing.T) {
	ts, msg, ok := split([]byte("2026-03-04T10:00:00.123456789Z hello world\n"))
	if !ok || msg != "hello world" || !ts.Equal(time.Date(2026, 3, 4, 10, 0, 0, 123456789, time.UTC)) {
		t.Errorf("split = %v %q %v", ts, msg, ok)
	}
	if _, msg, ok := split([]byte("2026-03-04T10:00:00Z \n")); !ok || msg != "" {
		t.Errorf("an empty line: %q %v", msg, ok)
	}
	if _, msg, ok := split([]byte("no timestamp here")); ok || msg != "no timestamp here" {
		t.Errorf("a line without a timestamp: %q %v", msg, ok)
	}
}
