// Command baseimage makes the test environment's images without internet
// and pushes them, printing the pushed reference with its digest:
//   - by default, a busybox base image from Debian's busybox-static, so that
//     Dockerfiles in hoist's tests and examples can use FROM <registry>/busybox;
//   - with --pause, the real node's pod sandbox image: the static pause
//     program alone, as Kubernetes builds registry.k8s.io/pause.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	busybox := flag.String("busybox", "/bin/busybox", "a static busybox binary")
	pause := flag.String("pause", "", "make the pause image from this static pause binary instead")
	ref := flag.String("ref", "", "where to push, such as 127.0.0.1:5000/busybox:latest")
	flag.Parse()
	if *ref == "" {
		log.Fatal("baseimage: --ref is required")
	}
	layer, err := busyboxLayer(*busybox)
	if *pause != "" {
		layer, err = pauseLayer(*pause)
	}
	if err != nil {
		log.Fatalf("baseimage: %v", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		log.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		log.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	if *pause != "" {
		cf.Config.Entrypoint = []string{"/pause"}
		cf.Config.User = "65535:65535"
	} else {
		cf.Config.Env = []string{"PATH=/bin"}
		cf.Config.Cmd = []string{"/bin/sh"}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		log.Fatal(err)
	}
	r, err := name.ParseReference(*ref)
	if err != nil {
		log.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		log.Fatalf("baseimage: pushing %s: %v", r, err)
	}
	d, err := img.Digest()
	if err != nil {
		log.Fatalf("baseimage: the digest of %s: %v", r, err)
	}
	fmt.Printf("%s@%s\n", r, d)
}

// pauseLayer is a layer with the pause program at /pause.
func pauseLayer(pause string) (v1.Layer, error) {
	bin, err := os.ReadFile(pause)
	if err != nil {
		return nil, fmt.Errorf("reading the pause binary (hack/testenv/build-bins.sh builds it): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "pause", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return layerOf(buf.Bytes())
}

func layerOf(data []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// busyboxLayer is a layer with busybox at /bin/busybox and a link per applet.
func busyboxLayer(busybox string) (v1.Layer, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("reading busybox (apt-get install busybox-static): %w", err)
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := []string{"bin/", "tmp/", "etc/", "root/", "var/", "proc/", "sys/", "dev/"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}); err != nil {
			return nil, err
		}
	}
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Size: int64(len(passwd))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(passwd); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return layerOf(buf.Bytes())
}
