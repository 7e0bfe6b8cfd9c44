package proc

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the capacity asked for a program's output pipe: a quarter
// of a second of lines at 4 MB/s, so that the program does not wait on a
// paced reader (see pacedReader) nor on a moment's stall of hoist. It is
// the most an unprivileged process may ask for by default
// (/proc/sys/fs/pipe-max-size).
const pipeSize = 1 << 20

// growPipe asks the kernel for a pipe of pipeSize; on failure the pipe
// keeps its default 64 KiB, which works, only with more waits.
func growPipe(f *os.File) {
	c, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = c.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
	})
}
