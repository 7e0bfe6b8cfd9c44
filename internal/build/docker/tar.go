package docker

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// tarContext streams the listed files of a build context as a tar. The
// files come from build.Dependencies, so .dockerignore is already applied.
func tarContext(dir string, files []string) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := func() error {
			for _, rel := range files {
				if err := addFile(tw, dir, rel); err != nil {
					return err
				}
			}
			return tw.Close()
		}()
		pw.CloseWithError(err)
	}()
	return pr
}

func addFile(tw *tar.Writer, dir, rel string) error {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	// The owners of the user's files are not inputs of the image; their
	// modification times are kept, as docker build keeps them.
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return errors.Join(err, f.Close())
}
