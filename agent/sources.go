package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/walk"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/agent/blocksum"
	"github.com/efssync/efssync/agent/follow"
	"github.com/efssync/efssync/agent/send"
)

// SourceHook sees every source before the sender reads it, and may wrap it.
// Tests use it to change a file in the window between its read and its
// confirmation; production leaves Options.Sources nil.
type SourceHook interface {
	Source(rel string, src send.Source) send.Source
}

// ErrChanged marks a source file that changed while it was read. It is not
// published; the next run (or, in watch mode, the follower) copies it again.
var ErrChanged = send.ErrChanged

func identity(st walk.Stat) send.Identity {
	return send.Identity{Dev: st.Dev, Ino: st.Ino, Size: st.Size, MTime: st.Mtime}
}

// fileSource is a once-mode source: an open file of known size, read once
// to that size. It is confirmed by one fstat: size, times, inode and type
// equal to the stat the read started from.
type fileSource struct {
	fd   int
	abs  string
	st   walk.Stat
	mode fs.FileMode
	off  int64
}

func (s *fileSource) Read(_ context.Context, p []byte) (int, error) {
	if s.off == s.st.Size {
		// All the bytes the stat promised: Confirm notices a writer that
		// appended, so no read for EOF.
		return 0, io.EOF
	}
	n, err := readFD(s.fd, p)
	s.off += int64(n)
	switch {
	case n == 0 && err == nil:
		return 0, io.EOF
	case err != nil:
		return n, fmt.Errorf("read %s: %w", s.abs, err)
	}
	return n, nil
}

func (s *fileSource) Confirm(_ context.Context, n int64, _ [32]byte) error {
	return checkStable(s.fd, s.abs, s.st, s.mode, n)
}

func (s *fileSource) Identity() send.Identity { return identity(s.st) }

func (s *fileSource) Xattrs() map[string][]byte { return readXattrs(s.fd) }

func (s *fileSource) ReadAt(p []byte, off int64) (int, error) {
	return preadFull(s.fd, p, off)
}

// checkStable compares the file after the read with the file before it: a
// writer that appended, truncated or rewrote it, or another file put in its
// place, invalidates the copy.
func checkStable(fd int, abs string, st walk.Stat, mode fs.FileMode, read int64) error {
	after, amode, err := fstatFD(fd)
	if err != nil {
		return fmt.Errorf("stat %s: %w", abs, err)
	}
	if read != st.Size || !policy.SourceUnchanged(policy.FileIdentity(st, mode), policy.FileIdentity(after, amode)) {
		return fmt.Errorf("%s: %w (size %d→%d, read %d bytes); it will be copied on the next run",
			abs, ErrChanged, st.Size, after.Size, read)
	}
	return nil
}

func preadFull(fd int, p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Pread(fd, p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.ErrUnexpectedEOF
		}
		done += n
	}
	return done, nil
}

// followSource is a watch-mode source: a file followed while it grows. It
// ends when the writer closed it (or it stopped growing for `quiet`), and
// then, if the job sets finished.quiet, once it has not changed for that
// long. It fingerprints every block it hands the sender, and is confirmed
// by reading the closed file again, still in page cache, and comparing
// the blocks in parallel: a writer that patched bytes already sent (a
// muxer rewriting its header at close) fails the confirmation, and the
// file is sent again.
type followSource struct {
	f        *os.File
	fl       *follow.Follower
	abs      string
	start    walk.Stat
	finished time.Duration // finished.quiet
	now      func() time.Time
	sent     blocksum.Sums
}

func (s *followSource) Read(ctx context.Context, p []byte) (int, error) {
	n, err := s.fl.Read(ctx, p)
	_, _ = s.sent.Write(p[:n])
	if err == io.EOF {
		if werr := s.settle(ctx); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// settle waits, after the follower finished, until the file has not been
// modified for finished.quiet; a file modified meanwhile fails with
// errGrew, so that it is followed again.
func (s *followSource) settle(ctx context.Context) error {
	if s.finished <= 0 {
		return nil
	}
	size, mtime, _ := s.fl.Final()
	for {
		wait := mtime.Add(s.finished).Sub(s.now())
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		fi, err := s.f.Stat()
		if err != nil {
			return fmt.Errorf("stat %s: %w", s.abs, err)
		}
		if fi.Size() != size {
			return fmt.Errorf("%s: %w", s.abs, errGrew)
		}
		mtime = fi.ModTime()
	}
}

// errGrew is a followed file that changed after its writer seemed done.
var errGrew = fmt.Errorf("%w (written again after it finished)", ErrChanged)

// Confirm compares the closed file with the fingerprints of the n bytes
// sent; the sender's BLAKE3 of them is what gets recorded.
func (s *followSource) Confirm(ctx context.Context, n int64, _ [32]byte) error {
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", s.abs, err)
	}
	if fi.Size() != n || s.sent.Size() != n {
		return fmt.Errorf("%s: %w (size %d after %d bytes were sent)", s.abs, errGrew, fi.Size(), n)
	}
	err = s.sent.Compare(ctx, s.f)
	switch {
	case errors.Is(err, blocksum.ErrDiffers):
		return fmt.Errorf("%s: %w (bytes already sent were rewritten: %w)", s.abs, ErrChanged, err)
	case err != nil:
		return fmt.Errorf("re-read %s to confirm it: %w", s.abs, err)
	}
	return nil
}

func (s *followSource) Identity() send.Identity {
	id := identity(s.start)
	if fi, err := s.f.Stat(); err == nil {
		id.Size, id.MTime = fi.Size(), fi.ModTime()
	}
	return id
}

func (s *followSource) Xattrs() map[string][]byte { return readXattrs(int(s.f.Fd())) }

func (s *followSource) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

// isRewrite reports whether err means the followed file must be sent again
// from its start: truncated, replaced, or changed after it was read.
func isRewrite(err error) bool {
	return errors.Is(err, follow.ErrTruncated) || errors.Is(err, ErrChanged)
}
