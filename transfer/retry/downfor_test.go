package retry_test

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/desttest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/retry"
)

// TestDownMarkExpiresAfterDownFor: with DownFor, a destination marked
// down is tried again once that long has passed on the policy's clock;
// one more failure marks it down again at once, a success ends it.
func TestDownMarkExpiresAfterDownFor(t *testing.T) {
	f := newFlaky(desttest.NewFS(t))
	var s sleeper
	now := time.Unix(1000, 0)
	p := policy(&s)
	p.MaxAttempts, p.DownAfter, p.DownFor = 1, 2, 10*time.Second
	p.Now = func() time.Time { return now }
	d := retry.New(f, p)
	f.fail("stat", eio, eio)
	for range 2 {
		if _, err := d.Stat(t.Context(), "x"); !errors.Is(err, eio) {
			t.Fatalf("Stat: %v, want the injected EIO", err)
		}
	}
	if _, err := d.Stat(t.Context(), "x"); !transfer.IsFatal(err) || f.count("stat") != 2 {
		t.Fatalf("Stat while down: %v after %d calls, want a fatal error without a call", err, f.count("stat"))
	}
	now = now.Add(9 * time.Second)
	if _, err := d.Stat(t.Context(), "x"); !transfer.IsFatal(err) || f.count("stat") != 2 {
		t.Fatalf("Stat before DownFor passed: %v after %d calls", err, f.count("stat"))
	}
	now = now.Add(2 * time.Second)
	f.fail("stat", eio)
	if _, err := d.Stat(t.Context(), "x"); !errors.Is(err, eio) || f.count("stat") != 3 {
		t.Fatalf("Stat after DownFor: %v after %d calls, want one more try", err, f.count("stat"))
	}
	if _, err := d.Stat(t.Context(), "x"); !transfer.IsFatal(err) || f.count("stat") != 3 {
		t.Fatalf("one failure after the mark expired must mark it down again: %v", err)
	}
	now = now.Add(11 * time.Second)
	if _, err := d.Stat(t.Context(), "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat once the destination is back: %v, want not-exist from the destination", err)
	}
	if _, err := d.Stat(t.Context(), "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after recovery: %v", err)
	}
}
