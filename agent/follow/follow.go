// Package follow reads a file that may still be written, so a growing file
// (a live HLS segment, a recording) is shipped as its bytes arrive and only
// the tail is left when the writer finishes.
package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ErrTruncated is wrapped by Read when the file shrank below what was
// already read, or the path now names a different file: the bytes already
// shipped may be wrong, so the caller must restart the file from scratch.
var ErrTruncated = errors.New("follow: file truncated or replaced")

// ErrRemoved is wrapped by Read when the followed path no longer exists;
// the caller decides whether the partial copy is still wanted.
var ErrRemoved = errors.New("follow: file removed")

// DefaultPoll is the poll interval used when Options.Poll is zero: a
// fallback for when no Wake signal arrives (e.g. an NFS source).
const DefaultPoll = 50 * time.Millisecond

// Options configures a Follower.
type Options struct {
	// Path, when set, is re-checked on every poll: if it names a different
	// file than the one open (the writer replaced it by rename) Read fails
	// with ErrTruncated, and with ErrRemoved if it is gone.
	Path string
	// Quiet finishes the file once it has not grown for this long. Zero
	// disables quiet detection: only Closed finishes the file.
	Quiet time.Duration
	// Poll is how often the size is re-checked while waiting. Default DefaultPoll.
	Poll time.Duration
	// Closed is signalled (a send or close) when the writer closed the file
	// (IN_CLOSE_WRITE): the follower reads to the current end and finishes.
	Closed <-chan struct{}
	// Wake is signalled (IN_MODIFY) when new data may be available, so the
	// follower need not wait for the next poll tick. Give it capacity 1 and
	// send without blocking, so a burst of IN_MODIFY costs one wake-up.
	Wake <-chan struct{}
}

// Follower reads a growing file from offset 0 to its end. It is not safe
// for concurrent use.
type Follower struct {
	f    *os.File
	opts Options

	off        int64
	lastSize   int64
	lastGrowth time.Time
	closedSeen bool
	finished   bool
	final      os.FileInfo
}

// New follows f, which must be open for reading at offset 0. The follower
// reads with ReadAt and never moves f's file offset or closes f.
func New(f *os.File, opts Options) *Follower {
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	return &Follower{f: f, opts: opts, lastGrowth: time.Now()}
}

// Offset returns how many bytes Read has returned so far.
func (fl *Follower) Offset() int64 { return fl.off }

// Final returns the file's size and modification time as observed when it
// finished; ok is false until Read has returned io.EOF. The caller records
// these in the manifest as the version that was shipped.
func (fl *Follower) Final() (size int64, mtime time.Time, ok bool) {
	if !fl.finished {
		return 0, time.Time{}, false
	}
	return fl.final.Size(), fl.final.ModTime(), true
}

// Read returns the next available bytes. It blocks while no new data is
// available and the file is not finished, returns io.EOF once the file is
// finished (after Closed fired, or after Quiet without growth) and all of it
// has been read, and returns ctx.Err() if ctx ends while waiting.
func (fl *Follower) Read(ctx context.Context, p []byte) (int, error) {
	if fl.finished {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		// Check the closed flag before stat: everything written before the
		// close is then visible to the stat below.
		if !fl.closedSeen && fl.opts.Closed != nil {
			select {
			case <-fl.opts.Closed:
				fl.closedSeen = true
			default:
			}
		}
		fi, err := fl.check()
		if err != nil {
			return 0, err
		}
		size := fi.Size()
		now := time.Now()
		if size > fl.lastSize {
			fl.lastSize = size
			fl.lastGrowth = now
		}
		if size > fl.off {
			want := min(int64(len(p)), size-fl.off)
			n, err := fl.f.ReadAt(p[:want], fl.off)
			fl.off += int64(n)
			if err != nil && !errors.Is(err, io.EOF) {
				return n, fmt.Errorf("follow: reading %s at %d: %w", fl.name(), fl.off, err)
			}
			if n > 0 {
				return n, nil
			}
			// Shrank between stat and read: the next check reports it.
			continue
		}
		since := now.Sub(fl.lastGrowth)
		if fl.closedSeen || fl.opts.Quiet > 0 && since >= fl.opts.Quiet {
			fl.finished = true
			fl.final = fi
			return 0, io.EOF
		}

		wait := fl.opts.Poll
		if fl.opts.Quiet > 0 && fl.opts.Quiet-since < wait {
			wait = fl.opts.Quiet - since
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-fl.opts.Closed:
			fl.closedSeen = true
		case _, ok := <-fl.opts.Wake:
			if !ok {
				fl.opts.Wake = nil // a closed Wake would spin
			}
		case <-timer.C:
		}
	}
}

// check fstats the open file and, with Options.Path, verifies the path
// still names it; it reports truncation and replacement as ErrTruncated.
func (fl *Follower) check() (os.FileInfo, error) {
	fi, err := fl.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("follow: stat %s: %w", fl.name(), err)
	}
	if fi.Size() < fl.off {
		return nil, fmt.Errorf("follow: %s shrank to %d bytes after %d were read: %w", fl.name(), fi.Size(), fl.off, ErrTruncated)
	}
	if fl.opts.Path != "" {
		pfi, err := os.Stat(fl.opts.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("follow: %s: %w", fl.opts.Path, ErrRemoved)
		case err != nil:
			return nil, fmt.Errorf("follow: stat %s: %w", fl.opts.Path, err)
		case !os.SameFile(fi, pfi):
			return nil, fmt.Errorf("follow: %s now names a different file: %w", fl.opts.Path, ErrTruncated)
		}
	}
	return fi, nil
}

func (fl *Follower) name() string {
	if fl.opts.Path != "" {
		return fl.opts.Path
	}
	return fl.f.Name()
}
