package event

import (
	"bytes"
	"fmt"
	"testing"
)

// TestInSlab checks that encodings cut from slabs keep their bytes while
// others are added after them, whatever their size, and that appending to
// one cannot write into the next.
func TestInSlab(t *testing.T) {
	var got, want [][]byte
	for i, n := range []int{10, 300, slabTail, slabSize/4 - 1, slabSize / 2, 5, slabSize, 1, 700, 900, 1000} {
		for j := range 20 {
			w := bytes.Repeat([]byte{byte('a' + (i+j)%26)}, n)
			b, err := inSlab(func(b []byte) ([]byte, error) { return append(b, w...), nil })
			if err != nil {
				t.Fatal(err)
			}
			if cap(b) != len(b) {
				t.Errorf("encoding of %d bytes: capacity %d", n, cap(b))
			}
			got, want = append(got, b), append(want, w)
		}
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("encoding %d changed after later ones: %.20q..., want %.20q...", i, got[i], want[i])
		}
	}
	if b, err := inSlab(func(b []byte) ([]byte, error) { return append(b, 'x'), fmt.Errorf("failed") }); err == nil || b != nil {
		t.Errorf("inSlab of a failed encoding = %q, %v; want nil and the error", b, err)
	}
	if b, err := inSlab(func(b []byte) ([]byte, error) { return b, nil }); err != nil || cap(b) != 0 {
		t.Errorf("inSlab of an empty encoding = %q (capacity %d), %v; want no capacity", b, cap(b), err)
	}
}
