package filesync

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// WriteTar writes to w a tar stream of the files to copy, each under every
// one of its paths in the container, relative to / (it is unpacked with
// tar -C /). Entries keep the local file's mode and modification time and
// are owned by root, as files an image's COPY makes are (tar -m gives them
// the time they are unpacked, so that servers see them change); symbolic links
// stay links. Folders the paths need are left to tar to create.
func WriteTar(w io.Writer, copies map[string][]string) error {
	tw := tar.NewWriter(w)
	for _, local := range slices.Sorted(maps.Keys(copies)) {
		if err := writeFile(tw, local, copies[local]); err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeFile(tw *tar.Writer, local string, dests []string) error {
	st, err := os.Lstat(local)
	if err != nil {
		return err
	}
	link := ""
	switch {
	case st.Mode()&os.ModeSymlink != 0:
		if link, err = os.Readlink(local); err != nil {
			return err
		}
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", local)
	}
	for _, dest := range dests {
		h, err := tar.FileInfoHeader(st, link)
		if err != nil {
			return err
		}
		h.Name = strings.TrimPrefix(dest, "/")
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("writing %s to the tar stream: %w", local, err)
		}
		if link != "" {
			continue
		}
		if err := copyContent(tw, local, h.Size); err != nil {
			return err
		}
	}
	return nil
}

// copyContent writes the first size bytes of the file to tw, padded with
// zeros when the file shrank since it was measured.
func copyContent(tw *tar.Writer, local string, size int64) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	n, err := io.Copy(tw, io.LimitReader(f, size))
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("reading %s: %w", local, err)
	}
	if n < size {
		if _, err := io.CopyN(tw, zeros{}, size-n); err != nil {
			return err
		}
	}
	return nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
