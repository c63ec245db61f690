package s3dest_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/toxitest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/transfertest"
)

// TestFaults injects real network faults between the destination and a real
// MinIO. Each fault must end in a whole object or in a clean failure (no
// object, a Retriable error), and a resumed attempt must not send again the
// parts acknowledged before the fault.
func TestFaults(t *testing.T) {
	t.Parallel() // each top-level test has its own MinIO
	e := newEnv(t)
	tox := toxitest.Start(t)

	// through returns a destination reaching MinIO via a fresh proxy, with
	// short timeouts so faults surface within seconds.
	through := func(t *testing.T) (*s3dest.Dest, *counter, *toxitest.Proxy) {
		p := tox.Proxy(t, e.srv.Addr)
		d, c := e.dest(t, func(o *s3dest.Options) {
			o.Endpoint = "http://" + p.Addr
			o.MaxAttempts = 2
			o.MaxBackoff = 50 * time.Millisecond
			o.StallTimeout = 2 * time.Second
		})
		return d, c, p
	}

	t.Run("ResetMidPart", func(t *testing.T) {
		d, c, p := through(t)
		data := transfertest.Content(21, 2*partSize+100)
		u, cp := firstPart(t, d, "reset.bin", data)
		// Slow the link so the reset lands inside part 2, on every attempt.
		slow := p.Bandwidth("upstream", 2000)
		reset := p.ResetPeer("upstream", 300)
		failRest(t, e, d, u, data)
		p.Remove(reset)
		p.Remove(slow)
		resumeAndCommit(t, d, "reset.bin", data, cp)
		if got := c.sent(1); got != 1 {
			t.Errorf("acknowledged part 1 sent %d times after the reset, want 1", got)
		}
	})

	t.Run("Stall", func(t *testing.T) {
		d, c, p := through(t)
		data := transfertest.Content(22, 2*partSize+100)
		u, cp := firstPart(t, d, "stall.bin", data)
		stall := p.Stall("upstream", 0)
		start := time.Now()
		failRest(t, e, d, u, data)
		// Two attempts of at most StallTimeout each, plus slack for a
		// loaded machine: a hung connection must not hang the upload.
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("stalled upload failed after %v, want within the stall bound", el)
		}
		p.Remove(stall)
		resumeAndCommit(t, d, "stall.bin", data, cp)
		if got := c.sent(1); got != 1 {
			t.Errorf("acknowledged part 1 sent %d times after the stall, want 1", got)
		}
	})

	t.Run("SlowLink", func(t *testing.T) {
		d, _, p := through(t)
		// Slow but moving: the stall timeout (2s) must not cut it, though
		// one part takes longer than that.
		p.Bandwidth("upstream", 2500)
		p.Latency("downstream", 50, 10)
		data := transfertest.Content(23, partSize+partSize/2)
		upload(t, d, "slow.bin", data)
		checkObject(t, d, "slow.bin", data)
	})

	// Last, since it stops the shared server.
	t.Run("MinIOStopped", func(t *testing.T) {
		d, c := e.dest(t, func(o *s3dest.Options) {
			o.MaxAttempts = 2
			o.MaxBackoff = 50 * time.Millisecond
			o.StallTimeout = 2 * time.Second
		})
		data := transfertest.Content(24, 2*partSize+100)
		u, cp := firstPart(t, d, "stopped.bin", data)
		e.srv.Stop()
		err := writeRest(t, u, data)
		if err == nil {
			t.Fatal("upload to a stopped MinIO succeeded")
		}
		if !transfer.IsRetriable(err) || !strings.Contains(err.Error(), "s3://"+e.bucket+"/") {
			t.Errorf("error %v: want Retriable, naming the bucket", err)
		}
		e.srv.Restart(t)
		checkNoObject(t, e, d, "stopped.bin")
		resumeAndCommit(t, d, "stopped.bin", data, cp)
		if got := c.sent(1); got != 1 {
			t.Errorf("acknowledged part 1 sent %d times after the restart, want 1", got)
		}
	})
}

// firstPart begins rel, sends its first part on a healthy link and returns
// the upload with its persisted checkpoint.
func firstPart(t *testing.T, d *s3dest.Dest, rel string, data []byte) (transfer.Upload, *transfer.Checkpoint) {
	t.Helper()
	u, err := d.Begin(t.Context(), rel, meta(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, u, data, 0, partSize)
	if err := u.(*s3dest.Upload).Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	cp := u.Checkpoint()
	if cp == nil || len(cp.Parts) != 1 {
		t.Fatalf("checkpoint after part 1: %+v", cp)
	}
	return u, roundTrip(t, cp)
}

// writeRest writes the rest of data and commits, returning the first error.
func writeRest(t *testing.T, u transfer.Upload, data []byte) error {
	t.Helper()
	const chunk = 1 << 20
	for off := partSize; off < len(data); off += chunk {
		if err := u.Write(t.Context(), int64(off), data[off:min(off+chunk, len(data))]); err != nil {
			return err
		}
	}
	return u.Commit(t.Context(), meta(data))
}

// failRest expects the rest of the upload to fail cleanly: a Retriable
// error, nothing published, and Abort still working afterwards.
func failRest(t *testing.T, e *env, d *s3dest.Dest, u transfer.Upload, data []byte) {
	t.Helper()
	err := writeRest(t, u, data)
	if err == nil {
		t.Fatal("upload through the fault succeeded")
	}
	if !transfer.IsRetriable(err) {
		t.Errorf("error %v is not Retriable", err)
	}
	t.Logf("failed as expected: %v", err)
	cp := u.Checkpoint()
	if cp == nil {
		t.Fatal("no checkpoint after the failure")
	}
	// Asked directly, not through the faulty link.
	if _, err := e.srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &e.bucket, Key: &cp.Key}); err == nil {
		t.Fatalf("%s is published after a failed upload", cp.Key)
	}
}

func checkNoObject(t *testing.T, e *env, d *s3dest.Dest, rel string) {
	t.Helper()
	key, _ := d.Key(rel)
	_, err := e.srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &e.bucket, Key: &key})
	if err == nil {
		t.Fatalf("%s is published after a failed upload", key)
	}
	if _, err := d.Stat(t.Context(), rel); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat %s after a failed upload: %v, want ErrNotExist", rel, err)
	}
}
