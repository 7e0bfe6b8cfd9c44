package event

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"
)

// blockEvents is how many events the spill file holds in a block: the
// unit it is written, compressed, indexed, read and kept in memory in.
// The index takes 8 bytes a block.
const blockEvents = 256

// spillFile holds the part of a run's history that no longer fits in memory.
// It is unlinked as soon as it is created, so nothing is left behind even
// when hoist is killed.
//
// It is a sequence of blocks, blockEvents events each: block i holds the
// events from sequence i*blockEvents+1. A block is its events' records,
// compressed with S2: an envelope's first hundred bytes are the same in
// every event of a run, and the lines of a build's output have much in
// common, so that a block shrinks several times, often ten, at a cost
// below that of writing it whole (S2 compresses JSON lines at over 2 GB/s
// a core). A long run so writes a fraction of its history to disk, where
// it would otherwise be one of the largest writers.
//
// A record is its length as a varint, then a flags byte, the event's level
// as a signed byte, its sequence as a varint, its protobuf form
// (length-delimited) if spilled, and its JSON line (the rest) if spilled.
// An event is spilled in the forms its readers have already made, and in
// those that the bus's readers want (see Bus.spillForms).
type spillFile struct {
	f *os.File

	mu    sync.Mutex
	size  int64
	index []int64 // index[i] is the offset of block i
	// records and packed are the buffers of append.
	records, packed []byte
	// blocks are the blocks last read, decoded once and shared by every
	// subscription that reads them (see block), and uses counts their
	// reads, to keep the most recently used.
	blocks map[int]*spillBlock
	uses   uint64
}

// cachedBlocks is how many blocks of the spill file are kept decoded in
// memory at most: 4096 events, about 2 MiB for a build's output lines.
// Subscribers that read the same history at about the same pace, such as
// the dashboards and relays that connect to a run at once, read each
// block from disk once between them (50 subscribers of a finished run
// received 2.0M events/s with 8, 2.2M with 16, and 2.3M with 32). Fewer
// subscribers keep fewer (see keptBlocks).
const cachedBlocks = 16

// keptBlocks is how many blocks the spill file keeps decoded for a bus
// with readers open subscriptions: two for each, for those that read the
// same blocks at about the same pace to share them, at least four and at
// most cachedBlocks. A run's sinks and one subscriber keep six, under
// 1 MiB.
func keptBlocks(readers int) int { return min(max(2*readers, 4), cachedBlocks) }

// spillBlock is a block of the spill file, read and decoded once.
type spillBlock struct {
	done   chan struct{} // closed when events and err are set
	events []*Encoded
	err    error
	used   uint64 // the spill file's uses at its last read
}

// The flags of a spill record.
const (
	spilledProto = 1 << iota
	spilledJSON
	spilledTerminal
)

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

// append writes envs, whole blocks whose first sequence is from, in one
// write, with the encoded bytes they share with other readers, and in
// forms too.
func (s *spillFile) append(from uint32, envs []*Encoded, forms Form) error {
	if (from-1)%blockEvents != 0 || len(envs)%blockEvents != 0 {
		return fmt.Errorf("spilling events %d to %d: not whole blocks of %d", from, from+uint32(len(envs))-1, blockEvents)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.packed[:0]
	offsets := make([]int64, 0, len(envs)/blockEvents)
	for b := 0; b < len(envs); b += blockEvents {
		recs := s.records[:0]
		for i, e := range envs[b : b+blockEvents] {
			var err error
			if recs, err = appendRecord(recs, e, forms); err != nil {
				return fmt.Errorf("encoding event %d for the spill file: %w", from+uint32(b+i), err)
			}
		}
		s.records = recs
		offsets = append(offsets, s.size+int64(len(out)))
		out = slices.Grow(out, s2.MaxEncodedLen(len(recs)))
		out = append(out, s2.Encode(out[len(out):cap(out)], recs)...)
	}
	if _, err := s.f.WriteAt(out, s.size); err != nil {
		return fmt.Errorf("writing event history spill file: %w", err)
	}
	s.size += int64(len(out))
	s.index = append(s.index, offsets...)
	s.packed = out
	return nil
}

// appendRecord appends e's spill record, with the forms already made and
// those in forms, to buf. A form that fails to encode is left out, as long
// as one is left.
func appendRecord(buf []byte, e *Encoded, forms Form) ([]byte, error) {
	pbuf, hasProto := e.proto.made()
	jbuf, hasJSON := e.json.made()
	var perr, jerr error
	if !hasJSON && forms&FormJSON != 0 {
		jbuf, jerr = e.JSON()
		hasJSON = jerr == nil
	}
	if !hasProto && (forms&FormProto != 0 || !hasJSON) {
		pbuf, perr = e.Proto()
		hasProto = perr == nil
	}
	if !hasProto && !hasJSON {
		return buf, errors.Join(perr, jerr)
	}
	var flags byte
	size := 2 + protowire.SizeVarint(uint64(e.seq))
	if hasProto {
		flags |= spilledProto
		size += protowire.SizeBytes(len(pbuf))
	}
	if hasJSON {
		flags |= spilledJSON
		size += len(jbuf)
	}
	if e.terminal {
		flags |= spilledTerminal
	}
	buf = protowire.AppendVarint(buf, uint64(size))
	buf = append(buf, flags, byte(e.level))
	buf = protowire.AppendVarint(buf, uint64(e.seq))
	if hasProto {
		buf = protowire.AppendBytes(buf, pbuf)
	}
	if hasJSON {
		buf = append(buf, jbuf...)
	}
	return buf, nil
}

// close closes the file. Its name was removed when it was created, so
// closing it frees its space on disk.
func (s *spillFile) close() error { return s.f.Close() }

// block returns the events from sequence seq to the end of its block,
// read from disk once for every subscription that reads the block while
// it is kept; enc is what their encodings share, and keep how many blocks
// to keep at most, with this one.
func (s *spillFile) block(seq uint32, enc *encoding, keep int) ([]*Encoded, error) {
	i := int((seq - 1) / blockEvents)
	s.mu.Lock()
	if i >= len(s.index) {
		s.mu.Unlock()
		return nil, fmt.Errorf("event %d is not in the spill file", seq)
	}
	s.uses++
	b := s.blocks[i]
	if b == nil {
		if s.blocks == nil {
			s.blocks = map[int]*spillBlock{}
		}
		for len(s.blocks) >= keep {
			s.evictBlock()
		}
		b = &spillBlock{done: make(chan struct{}), used: s.uses}
		s.blocks[i] = b
		from, to := s.index[i], s.size
		if i+1 < len(s.index) {
			to = s.index[i+1]
		}
		s.mu.Unlock()
		b.events, b.err = s.readBlock(uint32(i*blockEvents)+1, from, to, enc)
		close(b.done)
	} else {
		b.used = s.uses
		s.mu.Unlock()
		<-b.done
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.events[(seq-1)%blockEvents:], nil
}

// evictBlock drops the least recently read block, under mu.
func (s *spillFile) evictBlock() {
	oldest := -1
	for i, b := range s.blocks {
		if oldest < 0 || b.used < s.blocks[oldest].used {
			oldest = i
		}
	}
	delete(s.blocks, oldest)
}

// diskRecord is an event read back from disk: its encodings and, once
// decoded, its envelope.
type diskRecord struct {
	enc Encoded
	dec decoded
}

// readBlock reads the block of the file between offsets from and to,
// whose first sequence is first, in one read, and decodes it: one
// allocation for its bytes, one for its events.
func (s *spillFile) readBlock(first uint32, from, to int64, enc *encoding) ([]*Encoded, error) {
	packed := make([]byte, to-from)
	if _, err := s.f.ReadAt(packed, from); err != nil {
		return nil, fmt.Errorf("reading event history spill file: %w", err)
	}
	data, err := s2.Decode(nil, packed)
	if err != nil {
		return nil, fmt.Errorf("spill block from sequence %d: %w", first, err)
	}
	recs := make([]diskRecord, blockEvents)
	events := make([]*Encoded, 0, blockEvents)
	for len(data) > 0 {
		seq := first + uint32(len(events))
		n, w := protowire.ConsumeVarint(data)
		if w < 0 || n < 3 || n > uint64(len(data)-w) || len(events) == blockEvents {
			return nil, fmt.Errorf("spill record at sequence %d: bad length", seq)
		}
		rec := &recs[len(events)]
		e := &rec.enc
		if err := parseRecord(data[w:w+int(n):w+int(n)], e); err != nil {
			return nil, fmt.Errorf("spill record at sequence %d: %w", seq, err)
		}
		if e.seq != seq {
			return nil, fmt.Errorf("spill file out of order: want sequence %d, found %d", seq, e.seq)
		}
		e.disk, e.bus = &rec.dec, enc
		events = append(events, e)
		data = data[w+int(n):]
	}
	if len(events) != blockEvents {
		return nil, fmt.Errorf("spill block from sequence %d holds %d events, want %d", first, len(events), blockEvents)
	}
	return events, nil
}

// parseRecord reads a spill record's body into e.
func parseRecord(data []byte, e *Encoded) error {
	flags := data[0]
	e.level = int8(data[1])
	e.terminal = flags&spilledTerminal != 0
	seq, n := protowire.ConsumeVarint(data[2:])
	if n < 0 || seq > math.MaxUint32 {
		return errors.New("bad sequence")
	}
	e.seq = uint32(seq)
	rest := data[2+n:]
	if flags&spilledProto != 0 {
		b, n := protowire.ConsumeBytes(rest)
		if n < 0 {
			return errors.New("bad protobuf form")
		}
		e.proto.set(b[:len(b):len(b)])
		rest = rest[n:]
	}
	if flags&spilledJSON != 0 {
		e.json.set(rest)
	} else if len(rest) > 0 {
		return errors.New("trailing bytes")
	}
	if flags&(spilledProto|spilledJSON) == 0 {
		return errors.New("no encoding")
	}
	return nil
}
