package proc

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks the kernel for a pipe buffer of size bytes instead of the
// default 64 KiB. When it refuses (an unprivileged user may ask for at
// most fs.pipe-max-size, 1 MiB by default), the pipe keeps its size.
func growPipe(f *os.File, size int) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size)
	})
}
