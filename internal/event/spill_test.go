package event

import (
	"bytes"
	"fmt"
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// TestSpillBlocks writes a build's output lines to a spill file in whole
// blocks and reads them back: each event's forms as they were spilled,
// in a file several times smaller than its JSON lines. A write that is
// not whole blocks is refused.
func TestSpillBlocks(t *testing.T) {
	b, err := New(WithSpillDir(t.TempDir()), WithRunID("0196f8a2-6c1e-7bd8-b5ad-f0b707184dfe"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	const n = 4 * blockEvents
	envs := make([]*Encoded, n)
	raw := 0
	for i := range envs {
		b.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS,
			Log: fmt.Sprintf("#%d [build 2/3] RUN make: compiling module %d of %d", i, i%97, n)}}})
		envs[i] = b.ring[uint32(i+1)&b.mask].Load()
		line, err := envs[i].JSON()
		if err != nil {
			t.Fatal(err)
		}
		raw += len(line)
	}
	s, err := createSpill(t.TempDir(), b.RunID())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.close() }()
	if err := s.append(1, envs[:blockEvents+1], FormJSON); err == nil {
		t.Error("a spill of a block and an event was accepted")
	}
	if err := s.append(1, envs[:blockEvents], FormJSON|FormProto); err != nil {
		t.Fatal(err)
	}
	if err := s.append(blockEvents+1, envs[blockEvents:], FormJSON); err != nil {
		t.Fatal(err)
	}
	if s.size*4 > int64(raw) {
		t.Errorf("the spill file holds %d bytes for %d bytes of JSON lines; want a quarter at most", s.size, raw)
	}
	for _, seq := range []uint32{1, 200, blockEvents + 1, n - 1, n} {
		got, err := s.block(seq, b.encodes, cachedBlocks)
		if err != nil {
			t.Fatal(err)
		}
		if want := blockEvents - int((seq-1)%blockEvents); len(got) != want {
			t.Fatalf("block from %d: %d events, want %d", seq, len(got), want)
		}
		for _, e := range got {
			want := envs[e.seq-1]
			wj, _ := want.JSON()
			j, hasJSON := e.json.made()
			_, hasProto := e.proto.made()
			if !hasJSON || !bytes.Equal(j, wj) || hasProto != (e.seq <= blockEvents) {
				t.Fatalf("event %d read back as %s (protobuf form %v)", e.seq, j, hasProto)
			}
			if env := e.Env(); env.GetEvent().GetBuildEvent().GetLog() != want.Env().GetEvent().GetBuildEvent().GetLog() {
				t.Fatalf("event %d decodes to %v", e.seq, env)
			}
		}
	}
	if _, err := s.block(n+1, b.encodes, cachedBlocks); err == nil {
		t.Error("an event past the spill file was read")
	}
}
