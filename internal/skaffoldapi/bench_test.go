package skaffoldapi

import (
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// A subscriber of a run with a million lines of build output translates
// each of them: these benchmarks translate a line of a running build.

func buildingEnvelopes(b *testing.B) (setup []*pb.Envelope, line *pb.Envelope) {
	b.Helper()
	envs := envelopes(append(append([]*pb.Event{}, building...),
		buildLineEv("app", "Step 1/3 : FROM busybox", true),
		buildLineEv("app", "#7 [2/3] RUN make -j4 all 2>&1 | tee build.log", false))...)
	return envs[:len(envs)-1], envs[len(envs)-1]
}

func BenchmarkV2TranslateBuildLine(b *testing.B) {
	setup, line := buildingEnvelopes(b)
	tr := NewV2(options)
	for _, env := range setup {
		tr.Translate(env)
	}
	b.ReportAllocs()
	for b.Loop() {
		if out := tr.Translate(line); len(out) != 1 {
			b.Fatalf("a line translates into %d events, want 1", len(out))
		}
	}
}

func BenchmarkV1TranslateBuildLine(b *testing.B) {
	setup, line := buildingEnvelopes(b)
	tr := NewV1(options)
	for _, env := range setup {
		tr.Translate(env)
	}
	b.ReportAllocs()
	for b.Loop() {
		if out := tr.Translate(line); len(out) != 0 {
			b.Fatalf("a line translates into %d v1 events, want none", len(out))
		}
	}
}

// TestTranslateBuildLineAllocations keeps a line of build output at two
// allocations in v2 (the event and its message) and none in v1.
func TestTranslateBuildLineAllocations(t *testing.T) {
	envs := envelopes(append(append([]*pb.Event{}, building...),
		buildLineEv("app", "Step 1/3 : FROM busybox", true), buildLineEv("app", "compiling", false))...)
	line := envs[len(envs)-1]
	v2, v1 := NewV2(options), NewV1(options)
	for _, env := range envs[:len(envs)-1] {
		v2.Translate(env)
		v1.Translate(env)
	}
	if n := testing.AllocsPerRun(100, func() { v2.Translate(line) }); n > 2 {
		t.Errorf("v2 translates a build line with %v allocations, want at most 2", n)
	}
	if n := testing.AllocsPerRun(100, func() { v1.Translate(line) }); n > 0 {
		t.Errorf("v1 translates a build line with %v allocations, want none", n)
	}
}
