package agent

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/desttest"
	"github.com/efssync/efssync/transfer"
)

// failFirstWrite fails the first Write of a real destination with a
// transport error, after applying half of it, like a write whose
// acknowledgement was lost.
type failFirstWrite struct {
	transfer.Destination
	failed atomic.Bool
}

func (f *failFirstWrite) Begin(ctx context.Context, rel string, m transfer.Meta, cp *transfer.Checkpoint) (transfer.Upload, error) {
	u, err := f.Destination.Begin(ctx, rel, m, cp)
	return &failingUpload{Upload: u, f: f}, err
}

type failingUpload struct {
	transfer.Upload
	f *failFirstWrite
}

func (u *failingUpload) Write(ctx context.Context, off int64, p []byte) error {
	if u.f.failed.CompareAndSwap(false, true) {
		_ = u.Upload.Write(ctx, off, p[:len(p)/2])
		return transfer.Retriable(fmt.Errorf("write: %w", syscall.EIO))
	}
	return u.Upload.Write(ctx, off, p)
}

// The production chain charges a retried write's bytes twice, since they
// cross the wire twice: the limiter sits inside the retry decorator.
func TestRetriedWriteIsChargedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fd, root := desttest.NewFSNamed(t, "fs")
		const burst = 1 << 20
		lim := rate.NewLimiter(1, burst) // frozen clock: no refill during the test
		d := decorate(&failFirstWrite{Destination: fd}, lim, retryPolicy(config.Destination{Type: "fs"}))
		data := bytes.Repeat([]byte("z"), 100<<10)
		up, err := d.Begin(t.Context(), "f", transfer.Meta{Size: int64(len(data)), Mode: 0o644, ModTime: time.Unix(1e9, 0)}, nil)
		must(t, err)
		must(t, up.Write(t.Context(), 0, data))
		must(t, up.Commit(t.Context(), transfer.Meta{Size: int64(len(data)), Mode: 0o644, ModTime: time.Unix(1e9, 0)}))
		if got, want := lim.Tokens(), float64(burst-2*len(data)); math.Abs(got-want) >= 1 {
			t.Fatalf("limiter has %.0f tokens left, want %.0f: a retried write must be charged again", got, want)
		}
		got, err := os.ReadFile(filepath.Join(root, "f"))
		must(t, err)
		if !bytes.Equal(got, data) {
			t.Fatal("published content differs")
		}
	})
}

// S3 has one retry owner, the SDK: the decorator tries S3 operations once.
func TestS3IsRetriedOnlyByTheSDK(t *testing.T) {
	if p := retryPolicy(config.Destination{Type: "s3"}); p.MaxAttempts != 1 {
		t.Fatalf("S3 decorator attempts = %d, want 1", p.MaxAttempts)
	}
	if p := retryPolicy(config.Destination{Type: "fs"}); p.MaxAttempts == 1 {
		t.Fatal("fs destinations are not retried")
	}
}
