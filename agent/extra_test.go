package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/internal/treetest"
)

func TestXattrsAreCopiedWhenAsked(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    xattrs: true\n"
	treetest.Write(t, f.src, map[string]string{"tagged": "x"})
	p := filepath.Join(f.src, "tagged")
	if err := unix.Setxattr(p, "user.efssync.test", []byte("value"), 0); err != nil {
		t.Skipf("this file system keeps no user xattrs: %v", err)
	}
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("run: %+v", sum)
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(filepath.Join(f.dests[0], "tagged"), "user.efssync.test", buf)
	if err != nil || string(buf[:n]) != "value" {
		t.Fatalf("xattr at destination: %q, %v", buf[:n], err)
	}
}

func TestWatchProgressivePublishWritesInPlace(t *testing.T) {
	f, stop := watching(t, "    publish: progressive\n")
	w, err := os.Create(filepath.Join(f.src, "growing.mp4"))
	must(t, err)
	_, err = w.Write(bytes.Repeat([]byte("a"), 64<<10))
	must(t, err)
	// Readers of a progressive destination see the file grow under its
	// final name before the writer is done.
	eventually(t, "the partial file under its final name", func() bool {
		fi, err := os.Stat(filepath.Join(f.dests[0], "growing.mp4"))
		return err == nil && fi.Size() >= 64<<10
	})
	_, err = w.Write(bytes.Repeat([]byte("b"), 64<<10))
	must(t, err)
	must(t, w.Close())
	eventually(t, "the whole file", func() bool {
		b, err := os.ReadFile(filepath.Join(f.dests[0], "growing.mp4"))
		return err == nil && len(b) == 128<<10 && b[len(b)-1] == 'b'
	})
	stop()
	treetest.Equal(t, f.src, f.dests[0])
}
