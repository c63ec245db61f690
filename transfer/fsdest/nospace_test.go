package fsdest_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/efssync/efssync/internal/faultfs"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// TestOutOfSpaceIsMarked: a destination that is full (ENOSPC past a quota)
// or over the writer's quota (EDQUOT from writes and fsync) fails the file
// with an error the agent recognises as "stop this destination for the
// run": transfer.IsNoSpace, fatal, never retriable, naming the path and
// keeping the errno. Every publish way, on a real FUSE file system.
func TestOutOfSpaceIsMarked(t *testing.T) {
	faults := map[string]func(f *faultfs.FS){
		"ENOSPC": func(f *faultfs.FS) {
			if err := f.SetQuota(4096); err != nil {
				t.Fatal(err)
			}
		},
		"EDQUOT": func(f *faultfs.FS) { f.FailWrites(syscall.EDQUOT) },
	}
	want := map[string]syscall.Errno{"ENOSPC": syscall.ENOSPC, "EDQUOT": syscall.EDQUOT}
	for name, inject := range faults {
		for way, opts := range publishWays {
			t.Run(name+"/"+way, func(t *testing.T) {
				f, mnt := faultfs.Mount(t, t.TempDir(), faultfs.Options{})
				opts.Chown, opts.Xattrs = false, false
				opts.ResumeEvery *= 64 << 10
				d, err := fsdest.New("full", mnt, opts)
				if err != nil {
					t.Fatal(err)
				}
				// Sync closes the directories fsdest holds, before the unmount.
				t.Cleanup(func() { _ = d.Sync(context.Background()) })
				inject(f)
				err = publishErr(d, "dir/big.bin", bytes.Repeat([]byte{7}, 1<<20))
				if err == nil {
					t.Fatal("1 MiB published on a full destination")
				}
				if !transfer.IsNoSpace(err) || !errors.Is(err, transfer.ErrNoSpace) || !transfer.IsFatal(err) ||
					transfer.IsRetriable(err) || !errors.Is(err, want[name]) {
					t.Errorf("error %v: IsNoSpace %v, IsFatal %v, IsRetriable %v, is %v: %v", err, transfer.IsNoSpace(err),
						transfer.IsFatal(err), transfer.IsRetriable(err), want[name], errors.Is(err, want[name]))
				}
				if !strings.Contains(err.Error(), mnt) {
					t.Errorf("error does not name the path: %v", err)
				}
			})
		}
	}
}

// publishErr sends content to rel in 64 KiB chunks and returns the first
// error, aborting the upload after it.
func publishErr(d *fsdest.Dest, rel string, content []byte) error {
	ctx := context.Background()
	m := transfer.Meta{Size: int64(len(content)), Mode: 0o644, UID: -1, GID: -1}
	u, err := d.Begin(ctx, rel, m, nil)
	if err != nil {
		return err
	}
	for off := 0; off < len(content); off += 64 << 10 {
		if err := u.Write(ctx, int64(off), content[off:min(off+64<<10, len(content))]); err != nil {
			_ = u.Abort(ctx)
			return err
		}
	}
	if err := u.Commit(ctx, m); err != nil {
		_ = u.Abort(ctx)
		return err
	}
	return nil
}

// TestNoSpaceMarks: the mark survives wrapping, keeps the cause, and is
// fatal.
func TestNoSpaceMarks(t *testing.T) {
	if transfer.NoSpace(nil) != nil {
		t.Fatal("NoSpace(nil) is not nil")
	}
	err := fmtWrap(transfer.NoSpace(syscall.ENOSPC))
	if !transfer.IsNoSpace(err) || !transfer.IsFatal(err) || !errors.Is(err, syscall.ENOSPC) || transfer.IsRetriable(err) {
		t.Errorf("%v lost its marks", err)
	}
	if transfer.IsNoSpace(transfer.Fatal(syscall.EACCES)) {
		t.Error("a fatal EACCES counts as out of space")
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("job x"), err) }
