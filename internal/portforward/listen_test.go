package portforward

import (
	"net"
	"strconv"
	"testing"
)

// freeRun returns a port that was free a moment ago, with the next two
// free as well.
func freeRun(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := portOf(l)
		_ = l.Close()
		ok := p+2 <= 65535
		for i := 1; ok && i <= 2; i++ {
			if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+i))); err != nil {
				ok = false
			} else {
				_ = l.Close()
			}
		}
		if ok {
			return p
		}
	}
	t.Fatal("no three free ports in a row")
	return 0
}

func TestListenTakesTheWantedPortOrTheNextFreeOne(t *testing.T) {
	want := freeRun(t)
	first, err := listen(t.Context(), "127.0.0.1", want)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Close() }()
	if got := portOf(first); got != want {
		t.Errorf("listened on %d, want %d, which was free", got, want)
	}
	// Taken now: the next port above it.
	second, err := listen(t.Context(), "127.0.0.1", want)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = second.Close() }()
	if got := portOf(second); got != want+1 {
		t.Errorf("with %d taken, listened on %d, want %d", want, got, want+1)
	}
	// A port taken on every address is taken on loopback too.
	all, err := net.Listen("tcp", ":"+strconv.Itoa(want+2))
	if err != nil {
		t.Skipf("port %d was taken meanwhile: %v", want+2, err)
	}
	defer func() { _ = all.Close() }()
	third, err := listen(t.Context(), "127.0.0.1", want+2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = third.Close() }()
	if got := portOf(third); got == want+2 {
		t.Errorf("listened on %d, which another listener holds on every address", got)
	}
}

func TestListenWithoutAWantedPort(t *testing.T) {
	l, err := listen(t.Context(), "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	if portOf(l) == 0 {
		t.Error("no port")
	}
}

func TestListenOnAnAddressOfNoInterface(t *testing.T) {
	// 192.0.2.0/24 is for documentation: no interface has it.
	if l, err := listen(t.Context(), "192.0.2.1", 9000); err == nil {
		_ = l.Close()
		t.Fatal("listened on an address no interface has")
	}
}
