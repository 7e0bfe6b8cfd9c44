package portforward

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
)

// The ports a forward that wants none in particular tries first, as
// Skaffold does, so that its local port stays the same from run to run.
const (
	firstSparePort = 4503
	lastSparePort  = 4533
	// nextPorts is how far above a taken port the next free one is
	// looked for, before any free port will do.
	nextPorts = 100
)

// wanted is the local port a target asks for: its localPort, else its
// port's number when that is not a system port, else none (0).
func wanted(t Target) int {
	switch {
	case t.LocalPort > 0:
		return t.LocalPort
	case t.Port.IntVal >= 1024:
		return int(t.Port.IntVal)
	}
	return 0
}

// listen listens on address for a forward that wants port want: want
// itself, or when it is taken the next free port above it; with no port
// wanted, the first free one of 4503 to 4533; and when those are taken
// too, any free port. An address that cannot be listened on at all is an
// error.
func listen(ctx context.Context, address string, want int) (net.Listener, error) {
	var lc net.ListenConfig
	try := func(port int) (net.Listener, error) {
		return lc.Listen(ctx, "tcp", net.JoinHostPort(address, strconv.Itoa(port)))
	}
	first, last := firstSparePort, lastSparePort
	if want > 0 {
		first, last = want, min(want+nextPorts, 65535)
	}
	for port := first; port <= last; port++ {
		l, err := try(port)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EACCES) {
			return nil, err
		}
	}
	return try(0)
}

// portOf is the port a listener listens on.
func portOf(l net.Listener) int {
	if a, ok := l.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}
