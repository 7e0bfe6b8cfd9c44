package filesync

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type entry struct {
	Name, Link, Body string
	Mode             int64
	Type             byte
	Uid, Gid         int
}

func readTar(t *testing.T, data []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{Name: h.Name, Link: h.Linkname, Body: string(body), Mode: h.Mode, Type: h.Typeflag, Uid: h.Uid, Gid: h.Gid})
	}
}

func TestWriteTar(t *testing.T) {
	dir := buildContext(t, map[string]string{"www/index.html": "<h1>hi</h1>\n", "serve.sh": "#!/bin/sh\nexec httpd\n"})
	if err := os.Chmod(filepath.Join(dir, "serve.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("index.html", filepath.Join(dir, "www/home.html")); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err := WriteTar(&b, map[string][]string{
		filepath.Join(dir, "www/index.html"): {"/app/www/index.html", "/backup/index.html"},
		filepath.Join(dir, "serve.sh"):       {"/app/serve.sh"},
		filepath.Join(dir, "www/home.html"):  {"/app/www/home.html"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []entry{
		{Name: "app/serve.sh", Body: "#!/bin/sh\nexec httpd\n", Mode: 0o755, Type: tar.TypeReg},
		{Name: "app/www/home.html", Link: "index.html", Mode: 0o777, Type: tar.TypeSymlink},
		{Name: "app/www/index.html", Body: "<h1>hi</h1>\n", Mode: 0o644, Type: tar.TypeReg},
		{Name: "backup/index.html", Body: "<h1>hi</h1>\n", Mode: 0o644, Type: tar.TypeReg},
	}
	if diff := cmp.Diff(want, readTar(t, b.Bytes())); diff != "" {
		t.Errorf("tar entries (-want +got):\n%s", diff)
	}
}

func TestWriteTarMissingFile(t *testing.T) {
	dir := t.TempDir()
	if err := WriteTar(io.Discard, map[string][]string{filepath.Join(dir, "gone"): {"/gone"}}); err == nil {
		t.Error("WriteTar of a missing file succeeded")
	}
	if err := WriteTar(io.Discard, map[string][]string{dir: {"/dir"}}); err == nil {
		t.Error("WriteTar of a folder succeeded")
	}
}
