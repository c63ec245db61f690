package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/desttest"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
	"github.com/efssync/efssync/transfer/retry"
	"github.com/efssync/efssync/transfer/transfertest"
)

// flaky injects failures in front of a real destination: errs[op] lists the
// errors the next calls of op return before the call goes through.
type flaky struct {
	transfer.Destination
	mu    sync.Mutex
	errs  map[string][]error
	calls map[string]int
	// partial makes a failing Write apply the first half of p first, like
	// a write that reached the server but lost its acknowledgement.
	partial bool
}

func newFlaky(d transfer.Destination) *flaky {
	return &flaky{Destination: d, errs: map[string][]error{}, calls: map[string]int{}}
}

func (f *flaky) fail(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[op] = append(f.errs[op], errs...)
}

// next counts a call of op and returns the error to inject, if any.
func (f *flaky) next(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if len(f.errs[op]) == 0 {
		return nil
	}
	err := f.errs[op][0]
	f.errs[op] = f.errs[op][1:]
	return err
}

func (f *flaky) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *flaky) Stat(ctx context.Context, rel string) (transfer.Meta, error) {
	if err := f.next("stat"); err != nil {
		return transfer.Meta{}, err
	}
	return f.Destination.Stat(ctx, rel)
}

func (f *flaky) Remove(ctx context.Context, rel string) error {
	if err := f.next("remove"); err != nil {
		return err
	}
	return f.Destination.Remove(ctx, rel)
}

func (f *flaky) Begin(ctx context.Context, rel string, m transfer.Meta, cp *transfer.Checkpoint) (transfer.Upload, error) {
	if err := f.next("begin"); err != nil {
		return nil, err
	}
	u, err := f.Destination.Begin(ctx, rel, m, cp)
	if err != nil {
		return nil, err
	}
	return &flakyUpload{Upload: u, f: f}, nil
}

func (f *flaky) Mkdir(ctx context.Context, rel string, m transfer.Meta) error {
	if err := f.next("mkdir"); err != nil {
		return err
	}
	dm, _ := transfer.As[transfer.DirMaker](f.Destination)
	return dm.Mkdir(ctx, rel, m)
}

// List fails with errs["list"] before the first entry, and with
// errs["list-after"] after it.
func (f *flaky) List(ctx context.Context, fn func(string, transfer.Meta) error) error {
	if err := f.next("list"); err != nil {
		return err
	}
	l, _ := transfer.As[transfer.Lister](f.Destination)
	return l.List(ctx, func(rel string, m transfer.Meta) error {
		if err := fn(rel, m); err != nil {
			return err
		}
		return f.next("list-after")
	})
}

func (f *flaky) Open(ctx context.Context, rel string) (io.ReadCloser, error) {
	o, _ := transfer.As[transfer.Opener](f.Destination)
	return o.Open(ctx, rel)
}

type flakyUpload struct {
	transfer.Upload
	f *flaky
}

func (u *flakyUpload) Write(ctx context.Context, off int64, p []byte) error {
	if err := u.f.next("write"); err != nil {
		if u.f.partial {
			if werr := u.Upload.Write(ctx, off, p[:len(p)/2]); werr != nil {
				return werr
			}
		}
		return err
	}
	return u.Upload.Write(ctx, off, p)
}

func (u *flakyUpload) Commit(ctx context.Context, m transfer.Meta) error {
	if err := u.f.next("commit"); err != nil {
		return err
	}
	return u.Upload.Commit(ctx, m)
}

// sleeper records the waits instead of waiting.
type sleeper struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// maxRand makes the jitter deterministic: always the top of the range.
func maxRand(n int64) int64 { return n - 1 }

func policy(s *sleeper) retry.Policy {
	return retry.Policy{Sleep: s.Sleep, Rand: maxRand}
}

var eio = transfer.Retriable(fmt.Errorf("stat x: %w", syscall.EIO))

func TestConformance(t *testing.T) {
	transfertest.RunTests(t, func(t *testing.T) transfer.Destination {
		return retry.New(desttest.NewFS(t), retry.Policy{Sleep: (&sleeper{}).Sleep})
	})
}

func TestRetriesUntilSuccess(t *testing.T) {
	f := newFlaky(desttest.NewFS(t))
	var s sleeper
	d := retry.New(f, policy(&s))
	f.fail("stat", eio, eio)
	_, err := d.Stat(t.Context(), "missing")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat: %v, want the inner not-exist once the failures pass", err)
	}
	if n := f.count("stat"); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(s.got(), want) {
		t.Fatalf("waits %v, want %v", s.got(), want)
	}
}

func TestGivesUp(t *testing.T) {
	f := newFlaky(desttest.NewFS(t))
	var s sleeper
	d := retry.New(f, policy(&s))
	for range 10 {
		f.fail("remove", eio)
	}
	err := d.Remove(t.Context(), "x")
	if !errors.Is(err, syscall.EIO) || !transfer.IsRetriable(err) {
		t.Fatalf("Remove: %v, want the last error, still marked retriable", err)
	}
	if n := f.count("remove"); n != 5 {
		t.Fatalf("%d calls, want the default 5", n)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if !slices.Equal(s.got(), want) {
		t.Fatalf("waits %v, want %v", s.got(), want)
	}
}

func TestNotRetried(t *testing.T) {
	for name, err := range map[string]error{
		"unclassified":        syscall.EIO,
		"fatal":               transfer.Fatal(errors.New("access denied")),
		"fatal and retriable": transfer.Fatal(eio),
		"canceled":            transfer.Retriable(context.Canceled),
		"deadline":            transfer.Retriable(fmt.Errorf("put: %w", context.DeadlineExceeded)),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFlaky(desttest.NewFS(t))
			var s sleeper
			d := retry.New(f, policy(&s))
			f.fail("stat", err)
			if _, got := d.Stat(t.Context(), "x"); got != err {
				t.Fatalf("Stat: %v, want %v unchanged", got, err)
			}
			if n := f.count("stat"); n != 1 {
				t.Fatalf("%d calls, want 1", n)
			}
		})
	}
}

func TestContextDone(t *testing.T) {
	f := newFlaky(desttest.NewFS(t))
	var s sleeper
	d := retry.New(f, policy(&s))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f.fail("stat", eio, eio)
	if _, err := d.Stat(ctx, "x"); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Stat: %v", err)
	}
	if n := f.count("stat"); n != 1 {
		t.Fatalf("%d calls after cancel, want 1", n)
	}

	// A wait cut short by the context ends the retries too.
	f = newFlaky(desttest.NewFS(t))
	ctx, cancel = context.WithCancel(t.Context())
	d = retry.New(f, retry.Policy{Sleep: func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}})
	f.fail("stat", eio, eio)
	_, err := d.Stat(ctx, "x")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Stat: %v, want both the cancel and the cause", err)
	}
	if n := f.count("stat"); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

func TestBackoff(t *testing.T) {
	var asked []int64
	p := retry.Policy{Base: time.Second, Max: 3 * time.Second, Rand: func(n int64) int64 {
		asked = append(asked, n)
		return n - 1
	}}
	var got []time.Duration
	for n := range 5 {
		got = append(got, p.Backoff(n))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("backoff %v, want %v", got, want)
	}
	if asked[0] != int64(time.Second)+1 {
		t.Fatalf("jitter drawn from [0, %d), want [0, 1s]", asked[0])
	}
	if b := p.Backoff(1000); b != 3*time.Second {
		t.Fatalf("backoff after many retries %v, want the cap", b)
	}
	p.Rand = func(int64) int64 { return 0 }
	if b := p.Backoff(3); b != 0 {
		t.Fatalf("backoff with zero jitter %v, want 0 (full jitter)", b)
	}
	// The default draws within range.
	p.Rand = nil
	for n := range 20 {
		if b := p.Backoff(n); b < 0 || b > 3*time.Second {
			t.Fatalf("default backoff(%d) = %v, outside [0, 3s]", n, b)
		}
	}
}

func TestDefaultSleepHonoursContext(t *testing.T) {
	f := newFlaky(desttest.NewFS(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// Base is an hour: the test only ends if the wait sees the cancel.
	d := retry.New(f, retry.Policy{Base: time.Hour, Max: time.Hour, Rand: maxRand})
	f.fail("remove", transfer.Retriable(errors.New("flaky")))
	// ctx is already done, so no retry starts; use a live ctx and
	// cancel it from OnRetry instead to reach the wait itself.
	if err := d.Remove(ctx, "x"); err == nil {
		t.Fatal("Remove succeeded")
	}
	ctx, cancel = context.WithCancel(t.Context())
	d = retry.New(f, retry.Policy{Base: time.Hour, Max: time.Hour, Rand: maxRand,
		OnRetry: func(string, string, int, error) { cancel() }})
	f.fail("remove", transfer.Retriable(errors.New("flaky")))
	if err := d.Remove(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Remove: %v, want the wait interrupted", err)
	}
}

func TestWriteAndCommitRetried(t *testing.T) {
	fs := desttest.NewFS(t)
	f := newFlaky(fs)
	f.partial = true
	var s sleeper
	var retried []string
	p := policy(&s)
	p.OnRetry = func(op, rel string, attempt int, _ error) {
		retried = append(retried, fmt.Sprintf("%s %s %d", op, rel, attempt))
	}
	d := retry.New(f, p)
	data := transfertest.Content(1, 3*transfertest.ChunkSize+5)

	f.fail("begin", eio)
	u, err := d.Begin(t.Context(), "dir/f", transfertest.Meta(data, false), nil)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	for off := 0; off < len(data); off += transfertest.ChunkSize {
		if off == transfertest.ChunkSize {
			f.fail("write", eio, eio) // half the chunk lands, twice
		}
		end := min(off+transfertest.ChunkSize, len(data))
		if err := u.Write(t.Context(), int64(off), data[off:end]); err != nil {
			t.Fatalf("Write at %d: %v", off, err)
		}
	}
	f.fail("commit", eio)
	if err := u.Commit(t.Context(), transfertest.Meta(data, true)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	transfertest.CheckContent(t, d, "dir/f", data)
	want := []string{"begin dir/f 1", "write dir/f 1", "write dir/f 2", "commit dir/f 1"}
	if !slices.Equal(retried, want) {
		t.Fatalf("retried %q, want %q", retried, want)
	}
}

func TestAbilities(t *testing.T) {
	fs := desttest.NewFS(t)
	f := newFlaky(fs)
	var s sleeper
	d := retry.New(f, policy(&s))

	dm, ok := transfer.As[transfer.DirMaker](d)
	if !ok {
		t.Fatal("DirMaker of the inner destination not found")
	}
	f.fail("mkdir", eio)
	if err := dm.Mkdir(t.Context(), "a/b", transfer.Meta{Mode: 0o755, UID: -1, GID: -1}); err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	if n := f.count("mkdir"); n != 2 {
		t.Fatalf("Mkdir: %d calls, want 2 (retried)", n)
	}
	// What As returns is still the decorator for the basic operations.
	f.fail("stat", eio)
	if _, err := dm.(transfer.Destination).Stat(t.Context(), "a/b"); err != nil {
		t.Fatalf("Stat through the ability: %v", err)
	}
	if got, ok := transfer.As[*flaky](d); !ok || got != f {
		t.Fatal("the concrete inner destination is not reachable through Unwrap")
	}
	if got, ok := transfer.As[*fsdest.Dest](retry.New(fs, retry.Policy{})); !ok || got != fs {
		t.Fatal("the concrete inner destination is not reachable through Unwrap")
	}
	// Abilities the inner destination lacks are absent.
	if _, ok := transfer.As[transfer.Syncer](retry.New(bare{fs}, retry.Policy{})); ok {
		t.Fatal("Syncer found through a destination that has none")
	}
	if _, ok := transfer.As[transfer.DirMaker](retry.New(bare{fs}, retry.Policy{})); ok {
		t.Fatal("DirMaker found through a destination that has none")
	}
}

// bare hides every optional ability, like a destination that has none.
type bare struct{ transfer.Destination }

func TestListRetriedOnlyBeforeEntries(t *testing.T) {
	f := newFlaky(desttest.NewFS(t))
	var s sleeper
	d := retry.New(f, policy(&s))
	transfertest.Upload(t, d, "one", []byte("1"), 1)
	transfertest.Upload(t, d, "two", []byte("2"), 1)
	l, ok := transfer.As[transfer.Lister](d)
	if !ok {
		t.Fatal("no Lister")
	}

	f.fail("list", eio)
	var seen []string
	if err := l.List(t.Context(), func(rel string, _ transfer.Meta) error {
		seen = append(seen, rel)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(seen) != 2 || f.count("list") != 2 {
		t.Fatalf("saw %q in %d calls, want 2 entries in 2 calls", seen, f.count("list"))
	}

	f.fail("list-after", eio)
	seen = nil
	err := l.List(t.Context(), func(rel string, _ transfer.Meta) error {
		seen = append(seen, rel)
		return nil
	})
	if !errors.Is(err, syscall.EIO) || !transfer.IsRetriable(err) {
		t.Fatalf("List: %v, want the retriable error returned as is", err)
	}
	if len(seen) != 1 || f.count("list") != 3 {
		t.Fatalf("saw %q in %d calls, want 1 entry and no retry", seen, f.count("list"))
	}
}

// After DownAfter operations in a row fail for good with transport errors,
// the destination is down for the run: later operations fail at once, with
// one fatal error naming it and the cause, and never reach it again.
func TestMarkedDownAfterConsecutiveFailures(t *testing.T) {
	fsd, root := desttest.NewFSNamed(t, "fs")
	f := newFlaky(fsd)
	var s sleeper
	p := policy(&s)
	p.MaxAttempts, p.DownAfter = 2, 3
	d := retry.New(f, p)
	up, err := d.Begin(t.Context(), "u", transfer.Meta{Size: 3, Mode: 0o644}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Write(t.Context(), 0, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	for range 2 * 2 {
		f.fail("stat", eio)
	}
	// Two give-ups, then a success: the run of failures starts over.
	for range 2 {
		if _, err := d.Stat(t.Context(), "x"); !errors.Is(err, syscall.EIO) {
			t.Fatalf("Stat: %v", err)
		}
	}
	if _, err := d.Stat(t.Context(), "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after the failures passed: %v", err)
	}
	for range 3 * 2 {
		f.fail("remove", eio)
	}
	for i := range 3 {
		err := d.Remove(t.Context(), fmt.Sprint(i))
		if !errors.Is(err, syscall.EIO) || transfer.IsFatal(err) {
			t.Fatalf("Remove %d: %v, want a retriable give-up", i, err)
		}
	}
	calls := f.count("remove") + f.count("stat")
	_, err = d.Stat(t.Context(), "y")
	if !transfer.IsFatal(err) || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "fs is down") {
		t.Fatalf("Stat once down: %v, want one fatal error naming the destination and the cause", err)
	}
	if got := f.count("remove") + f.count("stat"); got != calls {
		t.Fatalf("a down destination was called %d more times", got-calls)
	}
	// Cleanup still reaches it: an upload begun before is aborted.
	if err := up.Abort(t.Context()); err != nil {
		t.Fatalf("Abort once down: %v, want the cleanup to go through", err)
	}
	if left := treetest.Leftovers(t, root); len(left) > 0 {
		t.Fatalf("temp files left by a destination marked down: %v", left)
	}
}
