package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/count"
)

// The two modes must not drift apart again: every expectation below runs
// through once mode (a walk) and watch mode (a follower of files written
// while the agent watches), which share one sender.

// mode delivers files through one mode: write(abs) creates each file, and
// the call returns once every file is published at every destination.
type mode struct {
	name    string
	deliver func(t *testing.T, f *fixture, opts Options, rels []string, write func(abs string))
}

var modes = []mode{
	{"once", func(t *testing.T, f *fixture, opts Options, rels []string, write func(string)) {
		for _, rel := range rels {
			write(filepath.Join(f.src, rel))
		}
		if sum := f.run(opts); !sum.OK() {
			t.Fatalf("once run: %+v", sum)
		}
	}},
	{"watch", func(t *testing.T, f *fixture, opts Options, rels []string, write func(string)) {
		ready, stop := f.startWatchOpts(t, opts)
		<-ready
		for _, rel := range rels {
			write(filepath.Join(f.src, rel))
		}
		for _, d := range f.dests {
			for _, rel := range rels {
				eventually(t, rel+" published", func() bool {
					want, err := os.ReadFile(filepath.Join(f.src, rel))
					got, gerr := os.ReadFile(filepath.Join(d, rel))
					return err == nil && gerr == nil && bytes.Equal(got, want)
				})
			}
		}
		if sum := stop(); sum != nil && !sum.OK() {
			t.Fatalf("watch run: %+v", sum)
		}
	}},
}

func writeFile(data string) func(abs string) {
	return func(abs string) {
		if err := os.WriteFile(abs, []byte(data), 0o644); err != nil {
			panic(err)
		}
	}
}

func TestModesCopyXattrs(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, 1)
			f.extra = "    xattrs: true\n"
			var unsupported error
			m.deliver(t, f, Options{}, []string{"tagged"}, func(abs string) {
				// Written under a temp name with its xattr, then renamed into
				// place, so the xattr is there before the agent sees the file.
				tmp := filepath.Join(filepath.Dir(abs), ".tagged.tmp")
				writeFile("content")(tmp)
				unsupported = unix.Setxattr(tmp, "user.efssync.test", []byte("value"), 0)
				must(t, os.Rename(tmp, abs))
			})
			if unsupported != nil {
				t.Skipf("this file system keeps no user xattrs: %v", unsupported)
			}
			buf := make([]byte, 64)
			n, err := unix.Getxattr(filepath.Join(f.dests[0], "tagged"), "user.efssync.test", buf)
			if err != nil || string(buf[:n]) != "value" {
				t.Fatalf("xattr at destination: %q, %v", buf[:max(n, 0)], err)
			}
		})
	}
}

// counted wraps every destination in an operation counter.
type counted struct {
	mu    sync.Mutex
	dests []*count.Dest
}

func (c *counted) wrap(d transfer.Destination) transfer.Destination {
	cd := count.New(d)
	c.mu.Lock()
	c.dests = append(c.dests, cd)
	c.mu.Unlock()
	return cd
}

func (c *counted) total() count.Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum count.Counts
	for _, d := range c.dests {
		s := d.Snapshot()
		sum.Open += s.Open
		sum.Stat += s.Stat
		sum.Commit += s.Commit
	}
	return sum
}

func TestModesVerify(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name+"/transferred is free on a CommitVerifier", func(t *testing.T) {
			f := newFixture(t, 2)
			// Adoption would stat files at the root, which exists already
			// (TestFirstCopyStatsDirectoriesNotFiles counts those stats).
			f.extra = "    adopt: false\n"
			c := &counted{}
			m.deliver(t, f, Options{WrapDest: c.wrap}, []string{"a", "b"}, writeFile("bytes"))
			if got := c.total(); got.Commit != 4 || got.Stat != 0 || got.Open != 0 {
				t.Fatalf("ops %+v: want 4 commits and no stat or open (fsdest checks in Commit)", got)
			}
		})
		t.Run(m.name+"/all reads every copy back", func(t *testing.T) {
			f := newFixture(t, 2)
			f.extra = "    verify: all\n"
			c := &counted{}
			m.deliver(t, f, Options{WrapDest: c.wrap}, []string{"a", "b"}, writeFile("bytes"))
			if got := c.total(); got.Commit != 4 || got.Open != 4 {
				t.Fatalf("ops %+v: want 4 commits and 4 read-backs", got)
			}
		})
	}
}

// A writer that rewrites bytes the agent already read (a muxer patching its
// header at close) must not leave the old bytes at a destination: what was
// sent is confirmed against the source before it is published (issue 11, D1).
func TestModesConfirmRewrittenHeaderBeforePublishing(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, 2)
			var once sync.Once
			hook := readHook(func(rel string) {
				once.Do(func() {
					fh, err := os.OpenFile(filepath.Join(f.src, rel), os.O_WRONLY, 0)
					must(t, err)
					_, err = fh.WriteAt([]byte("MOOV"), 0)
					must(t, err)
					must(t, fh.Close())
				})
			})
			body := bytes.Repeat([]byte("x"), 300<<10)
			m.deliver(t, f, Options{Sources: hook}, []string{"rec.mp4"}, writeFile("HDR0"+string(body)))
			for _, d := range f.dests {
				got, err := os.ReadFile(filepath.Join(d, "rec.mp4"))
				must(t, err)
				if !bytes.HasPrefix(got, []byte("MOOV")) {
					t.Fatalf("%s holds %q...: the bytes read before the rewrite were published", d, got[:4])
				}
				treetest.Equal(t, f.src, d)
			}
		})
	}
}
