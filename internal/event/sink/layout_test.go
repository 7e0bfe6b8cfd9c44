package sink

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestLayoutKeepsLinesOffPageBoundaries checks the property File relies on:
// every page boundary of the file falls right after a newline.
func TestLayoutKeepsLinesOffPageBoundaries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var file []byte
	for range 2000 {
		var lines [][]byte
		for range 1 + r.IntN(20) {
			lines = append(lines, bytes.Repeat([]byte{'x'}, 20+r.IntN(900)))
		}
		at, out := layout(nil, int64(len(file)), lines)
		if at != int64(len(file)) && at != int64(len(file))-1 {
			t.Fatalf("write at %d into a file of %d bytes", at, len(file))
		}
		file = append(file[:at], out...)
	}
	for p := page; p < len(file); p += page {
		if file[p-1] != '\n' {
			t.Fatalf("page boundary at %d is inside a line", p)
		}
	}
	if n := bytes.Count(bytes.ReplaceAll(file, []byte{' '}, nil), []byte("\n")); n == 0 {
		t.Fatal("no lines")
	}
}
