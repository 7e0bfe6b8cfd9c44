package docker

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTarContext(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"run.sh": 0o755, "src/a.go": 0o600} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("src/a.go", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	// Give the files an owner other than root, when the test may: the
	// tar must not carry it.
	if os.Getuid() == 0 {
		for _, name := range []string{"run.sh", "src/a.go", "link"} {
			if err := os.Lchown(filepath.Join(dir, name), 1234, 1234); err != nil {
				t.Fatal(err)
			}
		}
	}

	type entry struct {
		Name, Link, Content string
		Mode                fs.FileMode
		Uid, Gid            int
		Uname, Gname        string
	}
	var got []entry
	tr := tar.NewReader(tarContext(dir, []string{"link", "run.sh", "src/a.go"}))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{Name: hdr.Name, Link: hdr.Linkname, Content: string(data),
			Mode: hdr.FileInfo().Mode(), Uid: hdr.Uid, Gid: hdr.Gid, Uname: hdr.Uname, Gname: hdr.Gname})
	}
	// Only the files listed, in order, with their modes and no owner.
	want := []entry{
		{Name: "link", Link: "src/a.go", Mode: fs.ModeSymlink | 0o777},
		{Name: "run.sh", Content: "run.sh", Mode: 0o755},
		{Name: "src/a.go", Content: "src/a.go", Mode: 0o600},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tar (-want +got):\n%s", diff)
	}
}

func TestTarContextMissingFile(t *testing.T) {
	_, err := io.ReadAll(tarContext(t.TempDir(), []string{"gone.go"}))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading the context = %v, want a not-exist error", err)
	}
}
