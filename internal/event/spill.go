package event

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
)

// indexEvery is the distance in sequences between two remembered offsets of
// the spill file: memory for the index is 8 bytes per indexEvery events.
const indexEvery = 256

// spillFile holds the part of a run's history that no longer fits in memory.
// It is unlinked as soon as it is created, so nothing is left behind even
// when hoist is killed.
//
// Each event is a record: its length as a varint, then a flags byte, the
// event's level as a signed byte, its sequence as a varint, its protobuf
// form (length-delimited) if spilled, and its JSON line (the rest) if
// spilled. An event is spilled in the forms its readers have already made,
// and in those that the bus's readers want (see Bus.spillForms).
type spillFile struct {
	f *os.File

	mu      sync.Mutex
	size    int64
	index   []int64 // index[i] is the offset of sequence i*indexEvery+1
	scratch []byte
	// blocks are the complete blocks (indexEvery events each, block i
	// from sequence i*indexEvery+1) last read, decoded once and shared by
	// every subscription that reads them (see block), and uses counts
	// their reads, to keep the most recently used.
	blocks map[int]*spillBlock
	uses   uint64

	last atomic.Uint32 // the last sequence written and readable
}

// cachedBlocks is how many blocks of the spill file are kept decoded in
// memory: 2048 events, a few hundred KiB to a few MiB. Subscribers that
// read the same history at about the same pace, such as the dashboards
// and relays that connect to a run at once, read each block from disk
// once between them.
const cachedBlocks = 8

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

// append writes envs, whose first sequence is from, in one write, with the
// encoded bytes they share with other readers, and in forms too.
func (s *spillFile) append(from uint32, envs []*Encoded, forms Form) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := s.scratch[:0]
	for i, e := range envs {
		seq := from + uint32(i)
		if (seq-1)%indexEvery == 0 {
			s.index = append(s.index, s.size+int64(len(buf)))
		}
		var err error
		if buf, err = appendRecord(buf, e, forms); err != nil {
			return fmt.Errorf("encoding event %d for the spill file: %w", seq, err)
		}
	}
	if _, err := s.f.WriteAt(buf, s.size); err != nil {
		return fmt.Errorf("writing event history spill file: %w", err)
	}
	s.size += int64(len(buf))
	s.scratch = buf[:0]
	s.last.Store(from + uint32(len(envs)) - 1)
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
	buf = append(buf, flags, byte(int8(e.level)))
	buf = protowire.AppendVarint(buf, uint64(e.seq))
	if hasProto {
		buf = protowire.AppendBytes(buf, pbuf)
	}
	if hasJSON {
		buf = append(buf, jbuf...)
	}
	return buf, nil
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

// block returns the events of the block that holds sequence seq, the
// first of them seq's, read from disk once for every subscription that
// reads it while it is cached; count counts the encodings their readers
// make. ok is false while the block is not completely written: it is
// then read with a spillReader.
func (s *spillFile) block(seq uint32, count *encodeCount) (events []*Encoded, ok bool, err error) {
	i := int((seq - 1) / indexEvery)
	s.mu.Lock()
	if i+1 >= len(s.index) {
		s.mu.Unlock()
		return nil, false, nil
	}
	s.uses++
	b := s.blocks[i]
	if b == nil {
		if s.blocks == nil {
			s.blocks = map[int]*spillBlock{}
		}
		if len(s.blocks) >= cachedBlocks {
			s.evictBlock()
		}
		b = &spillBlock{done: make(chan struct{})}
		s.blocks[i] = b
		from, to := s.index[i], s.index[i+1]
		b.used = s.uses
		s.mu.Unlock()
		b.events, b.err = s.readBlock(uint32(i*indexEvery)+1, from, to, count)
		close(b.done)
	} else {
		b.used = s.uses
		s.mu.Unlock()
		<-b.done
	}
	if b.err != nil {
		return nil, true, b.err
	}
	return b.events[(seq-1)%indexEvery:], true, nil
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

// readBlock reads the block of the file between offsets from and to,
// whose first sequence is first: in one read, into one allocation for
// its bytes and one for its events.
func (s *spillFile) readBlock(first uint32, from, to int64, count *encodeCount) ([]*Encoded, error) {
	data := make([]byte, to-from)
	if _, err := s.f.ReadAt(data, from); err != nil {
		return nil, fmt.Errorf("reading event history spill file: %w", err)
	}
	recs := make([]diskRecord, indexEvery)
	events := make([]*Encoded, 0, indexEvery)
	for len(data) > 0 {
		seq := first + uint32(len(events))
		n, w := protowire.ConsumeVarint(data)
		if w < 0 || n < 3 || n > uint64(len(data)-w) || len(events) == indexEvery {
			return nil, fmt.Errorf("spill record at sequence %d: bad length", seq)
		}
		rec := &recs[len(events)]
		e := &rec.enc
		body := data[w : w+int(n) : w+int(n)]
		if err := parseRecord(body, e); err != nil {
			return nil, fmt.Errorf("spill record at sequence %d: %w", seq, err)
		}
		if e.seq != seq {
			return nil, fmt.Errorf("spill file out of order: want sequence %d, found %d", seq, e.seq)
		}
		e.disk, e.count = &rec.dec, count
		events = append(events, e)
		data = data[w+int(n):]
	}
	if len(events) != indexEvery {
		return nil, fmt.Errorf("spill block from sequence %d holds %d events, want %d", first, len(events), indexEvery)
	}
	return events, nil
}

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
	f     *os.File
	off   int64 // offset of sequence next
	next  uint32
	br    *bufio.Reader
	chunk []byte // the records read are cut from it
}

// limit lets the reader see the file up to size.
func (r *spillReader) limit(size int64) {
	r.br.Reset(io.NewSectionReader(r.f, r.off, size-r.off))
}

// readChunk is the size of the allocations that records are read into.
const readChunk = 64 << 10

// diskRecord is an event read back from disk: its encodings and, once
// decoded, its envelope, in one allocation.
type diskRecord struct {
	enc Encoded
	dec decoded
}

// read returns the next event, with the encoded forms it was spilled in;
// count counts the encodings its readers make. Its envelope is not
// decoded.
func (r *spillReader) read(count *encodeCount) (*Encoded, error) {
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return nil, err
	}
	if n < 3 || n > math.MaxInt32 {
		return nil, fmt.Errorf("spill record at sequence %d: bad length %d", r.next, n)
	}
	if cap(r.chunk)-len(r.chunk) < int(n) {
		r.chunk = make([]byte, 0, max(readChunk, int(n)))
	}
	data := r.chunk[len(r.chunk) : len(r.chunk)+int(n) : len(r.chunk)+int(n)]
	r.chunk = r.chunk[:len(r.chunk)+int(n)]
	if _, err := io.ReadFull(r.br, data); err != nil {
		return nil, err
	}
	rec := &diskRecord{}
	e := &rec.enc
	if err := parseRecord(data, e); err != nil {
		return nil, fmt.Errorf("spill record at sequence %d: %w", r.next, err)
	}
	if e.seq != r.next {
		return nil, fmt.Errorf("spill file out of order: want sequence %d, found %d", r.next, e.seq)
	}
	e.disk, e.count = &rec.dec, count
	r.off += int64(protowire.SizeVarint(n)) + int64(n)
	r.next++
	return e, nil
}

// parseRecord reads a spill record's body into e.
func parseRecord(data []byte, e *Encoded) error {
	flags := data[0]
	e.level = slog.Level(int8(data[1]))
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
