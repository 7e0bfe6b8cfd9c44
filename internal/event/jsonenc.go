package event

import (
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// This file holds what the generated JSON encoder of the event contract
// (jsonenc_gen.go, written by internal/jsongen from the proto descriptor)
// calls to write names, strings, numbers and timestamps. Together they
// write exactly what protojson writes, without the random spaces protojson
// puts after commas: the same event gives the same bytes in every build.

//go:generate go run ./internal/jsongen -o jsonenc_gen.go

// A jsonWriter appends JSON to b; the first error it meets is kept in err,
// and what it writes after that does not matter.
type jsonWriter struct {
	b   []byte
	err error
	// second, if set, keeps the text of the last second a timestamp
	// wrote: the events of a run are mostly many a second.
	second *atomic.Pointer[secondText]
}

// secondText is a timestamp's text up to its second, "2006-01-02T15:04:05".
type secondText struct {
	secs int64
	text [19]byte
}

// name appends a field's quoted name and colon, after a comma unless it is
// the first field of the object that starts at start.
func (w *jsonWriter) name(start int, name string) {
	if len(w.b) > start {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, name...)
}

// string appends s, a value of field, as a JSON string.
func (w *jsonWriter) string(s, field string) {
	var err error
	if w.b, err = appendString(w.b, s); err != nil && w.err == nil {
		w.err = fmt.Errorf("field %s: %w", field, err)
	}
}

func (w *jsonWriter) uint32(v uint32) { w.b = strconv.AppendUint(w.b, uint64(v), 10) }

func (w *jsonWriter) int32(v int32) { w.b = strconv.AppendInt(w.b, int64(v), 10) }

// timestamp appends a google.protobuf.Timestamp.
func (w *jsonWriter) timestamp(secs int64, nanos int32) {
	if w.second != nil {
		if s := w.second.Load(); s != nil && s.secs == secs && nanos >= 0 && nanos <= maxNanos {
			w.b = appendNanos(append(append(w.b, '"'), s.text[:]...), int(nanos))
			return
		}
	}
	start := len(w.b)
	var err error
	if w.b, err = appendTimestamp(w.b, secs, int64(nanos)); err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	if w.second != nil {
		s := &secondText{secs: secs}
		copy(s.text[:], w.b[start+1:])
		w.second.Store(s)
	}
}

// The range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
	maxNanos            = 999_999_999
)

// appendTimestamp appends a google.protobuf.Timestamp as protojson does:
// RFC 3339 in UTC, with 0, 3, 6 or 9 fractional digits.
func appendTimestamp(b []byte, secs, nanos int64) ([]byte, error) {
	if secs < minTimestampSeconds || secs > maxTimestampSeconds {
		return b, fmt.Errorf("google.protobuf.Timestamp: seconds out of range %d", secs)
	}
	if nanos < 0 || nanos > maxNanos {
		return b, fmt.Errorf("google.protobuf.Timestamp: nanos out of range %d", nanos)
	}
	t := time.Unix(secs, 0).UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = append(b, '"')
	b = append2(b, year/100)
	b = append2(b, year%100)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, minute)
	b = append(b, ':')
	b = append2(b, sec)
	return appendNanos(b, int(nanos)), nil
}

// appendNanos ends a timestamp's text after its second: the fraction of
// nanos, from 0 to 999,999,999, in 0, 3, 6 or 9 digits, 'Z' and the quote.
func appendNanos(b []byte, n int) []byte {
	if n != 0 {
		b = append(b, '.')
		b = append2(b, n/10_000_000)
		b = append(b, byte('0'+n/1_000_000%10))
		if n %= 1_000_000; n != 0 {
			b = append2(b, n/10_000)
			b = append(b, byte('0'+n/1_000%10))
			if n %= 1_000; n != 0 {
				b = append2(b, n/10)
				b = append(b, byte('0'+n%10))
			}
		}
	}
	return append(b, 'Z', '"')
}

// append2 appends n, from 0 to 99, as two digits.
func append2(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// errInvalidUTF8 is the error of a string that is not valid UTF-8, which
// JSON cannot carry; protojson refuses it too.
var errInvalidUTF8 = errors.New("invalid UTF-8")

// safe tells which bytes a JSON string holds as they are: not the control
// characters, '"' and '\\', which are escaped, nor the bytes of multi-byte
// UTF-8 sequences, which are checked.
var safe = func() (s [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		s[c] = c != '"' && c != '\\'
	}
	return s
}()

// safePrefix returns the length of a prefix of s, in whole 8-byte words,
// whose bytes are all safe, testing 8 bytes at a time.
func safePrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	n := 0
	for ; n+8 <= len(s); n += 8 {
		t := s[n : n+8]
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		q := w ^ (ones * '"')
		bs := w ^ (ones * '\\')
		// A byte's high bit is set in lt for a byte of w below ' ', in zq
		// and zbs for a '"' and a '\\' of w (a zero byte of q and bs), and
		// in w for a byte of a multi-byte rune.
		lt := (w - ones*' ') &^ w
		zq := (q - ones) &^ q
		zbs := (bs - ones) &^ bs
		if (lt|zq|zbs|w)&highs != 0 {
			break
		}
	}
	return n
}

// appendString appends s as a JSON string, escaped exactly as protojson
// does: '"', '\\' and control characters only, with \b, \f, \n, \r and \t
// for those that have a short form and \u00XX (lower-case hex) for the
// others. <, >, &, U+2028 and U+2029 are written as they are.
func appendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	for i := 0; i < len(s); {
		j := i + safePrefix(s[i:])
		for j < len(s) && safe[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if j == len(s) {
			break
		}
		i = j
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return b, errInvalidUTF8
			}
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
	}
	return append(b, '"'), nil
}
