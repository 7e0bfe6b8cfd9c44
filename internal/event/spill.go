package event

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// indexEvery is the distance in sequences between two remembered offsets of
// the spill file: memory for the index is 8 bytes per indexEvery events.
const indexEvery = 256

// spillFile holds the part of a run's history that no longer fits in memory,
// as length-delimited protobuf envelopes. It is unlinked as soon as it is
// created, so nothing is left behind even when hoist is killed.
type spillFile struct {
	f *os.File

	mu      sync.Mutex
	size    int64
	index   []int64 // index[i] is the offset of sequence i*indexEvery+1
	scratch []byte

	last atomic.Uint32 // the last sequence written and readable
}

func createSpill(dir, runID string) (*spillFile, error) {
	f, err := os.CreateTemp(dir, "hoist-events-"+runID+"-*.pb")
	if err != nil {
		return nil, fmt.Errorf("creating event history spill file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		return nil, errors.Join(fmt.Errorf("unlinking event history spill file: %w", err), f.Close())
	}
	return &spillFile{f: f}, nil
}

// append writes envs, whose first sequence is from, in one write, with the
// protobuf bytes they share with other readers.
func (s *spillFile) append(from uint32, envs []*Encoded) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := s.scratch[:0]
	for i, env := range envs {
		seq := from + uint32(i)
		if (seq-1)%indexEvery == 0 {
			s.index = append(s.index, s.size+int64(len(buf)))
		}
		data, err := env.Proto()
		if err != nil {
			return fmt.Errorf("encoding event %d for the spill file: %w", seq, err)
		}
		buf = protowire.AppendVarint(buf, uint64(len(data)))
		buf = append(buf, data...)
	}
	if _, err := s.f.WriteAt(buf, s.size); err != nil {
		return fmt.Errorf("writing event history spill file: %w", err)
	}
	s.size += int64(len(buf))
	s.scratch = buf[:0]
	s.last.Store(from + uint32(len(envs)) - 1)
	return nil
}

// flushed returns the last sequence on disk and the file size after it.
func (s *spillFile) flushed() (uint32, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.Load(), s.size
}

// close closes the file. Its name was removed when it was created, so
// closing it frees its space on disk.
func (s *spillFile) close() error { return s.f.Close() }

// reader returns a reader positioned at sequence next.
func (s *spillFile) reader(next uint32) (*spillReader, error) {
	s.mu.Lock()
	i := int((next - 1) / indexEvery)
	if i >= len(s.index) {
		s.mu.Unlock()
		return nil, fmt.Errorf("event %d is not in the spill file", next)
	}
	off, size := s.index[i], s.size
	s.mu.Unlock()
	r := &spillReader{f: s.f, off: off, next: uint32(i*indexEvery) + 1, br: bufio.NewReaderSize(nil, 64<<10)}
	r.limit(size)
	for r.next < next {
		if _, err := r.read(nil); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// spillReader reads a spill file sequentially, never past the bytes that
// were completely written when limit was last called.
type spillReader struct {
	f    *os.File
	off  int64 // offset of sequence next
	next uint32
	br   *bufio.Reader
}

// limit lets the reader see the file up to size.
func (r *spillReader) limit(size int64) {
	r.br.Reset(io.NewSectionReader(r.f, r.off, size-r.off))
}

// read returns the next event, with the protobuf bytes it was read from;
// count counts the encodings its readers make.
func (r *spillReader) read(count *encodeCount) (*Encoded, error) {
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return nil, err
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r.br, data); err != nil {
		return nil, err
	}
	env := &pb.Envelope{}
	if err := proto.Unmarshal(data, env); err != nil {
		return nil, err
	}
	if got := env.GetEvent().GetSequence(); got != r.next {
		return nil, fmt.Errorf("spill file out of order: want sequence %d, found %d", r.next, got)
	}
	r.off += int64(protowire.SizeVarint(n)) + int64(n)
	r.next++
	e := &Encoded{env: env, count: count}
	e.setProto(data)
	return e, nil
}
