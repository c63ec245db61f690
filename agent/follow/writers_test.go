package follow

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// OpenForWriting sees a writer's descriptor, and neither a reader's nor
// one closed.
func TestOpenForWriting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rec.ts")
	w, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	dev, ino := uint64(st.Dev), st.Ino
	if !OpenForWriting(dev, ino) {
		t.Fatal("a file open for writing is not seen as such")
	}
	w.Close()
	r, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if OpenForWriting(dev, ino) {
		t.Fatal("a file open only for reading is seen as written")
	}
}
