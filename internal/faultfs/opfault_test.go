package faultfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFailOpFailsOnlyThatOperation: a fault on one operation leaves the
// others alone, counts down when limited, and ClearFaults ends it.
func TestFailOpFailsOnlyThatOperation(t *testing.T) {
	f, mnt := Mount(t, t.TempDir(), Options{CacheTimeout: -1})
	a, b := filepath.Join(mnt, "a"), filepath.Join(mnt, "b")
	if err := os.WriteFile(a, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.FailOp("rename", syscall.EIO, 1); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a, b); !errors.Is(err, syscall.EIO) {
		t.Fatalf("first rename: %v, want EIO", err)
	}
	if err := os.Rename(a, b); err != nil {
		t.Fatalf("second rename: %v", err)
	}
	if n := f.Injected(); n != 1 {
		t.Fatalf("Injected() = %d after one failed rename, want 1", n)
	}
	if err := f.FailOp("read", syscall.EIO, -1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := os.ReadFile(b); !errors.Is(err, syscall.EIO) {
			t.Fatalf("read under a fault: %v, want EIO", err)
		}
	}
	if err := os.WriteFile(a, []byte("more"), 0o644); err != nil {
		t.Fatalf("a write while reads fail: %v", err)
	}
	if err := f.FailOp("readdir", syscall.EIO, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadDir(mnt); !errors.Is(err, syscall.EIO) {
		t.Fatalf("readdir under a fault: %v, want EIO", err)
	}
	f.ClearFaults()
	if got, err := os.ReadFile(b); err != nil || string(got) != "data" {
		t.Fatalf("read after ClearFaults: %q, %v", got, err)
	}
	if _, err := os.ReadDir(mnt); err != nil {
		t.Fatalf("readdir after ClearFaults: %v", err)
	}
	if err := f.FailOp("nosuch", syscall.EIO, 1); err == nil {
		t.Fatal("an unknown operation name was accepted")
	}
}
