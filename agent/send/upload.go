package send

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/efssync/efssync/transfer"
)

// upload is one file's upload to one destination and its first error.
type upload struct {
	s     *Sender
	idx   int
	rel   string
	id    Identity
	grow  bool
	up    transfer.Upload
	err   error
	parts int // checkpointed parts, so a checkpoint is stored only when it grew
	saved bool
}

// beginAll starts the upload of f at each of its destinations, in parallel
// when there are several.
func (s *Sender) beginAll(ctx context.Context, f File, src Source) ([]upload, []Outcome) {
	ups, outs := newUploads(len(f.Dests))
	id := src.Identity()
	for k, i := range f.Dests {
		ups[k] = upload{s: s, idx: i, rel: f.Rel, id: id, grow: f.Growing}
	}
	if len(ups) == 1 {
		ups[0].begin(ctx, f.Meta, src)
	} else {
		beginParallel(ctx, ups, f.Meta, src)
	}
	return ups, outs
}

// beginParallel begins every upload at once. It is its own function so that
// what its closures capture is only moved to the heap with several
// destinations.
func beginParallel(ctx context.Context, ups []upload, m transfer.Meta, src Source) {
	var wg sync.WaitGroup
	for k := range ups {
		wg.Go(func() { ups[k].begin(ctx, m, src) })
	}
	wg.Wait()
}

// one is a single destination's upload and outcome in one allocation: the
// common case of a small file to one destination pays for one object.
type one struct {
	ups  [1]upload
	outs [1]Outcome
}

func newUploads(n int) ([]upload, []Outcome) {
	if n == 1 {
		o := new(one)
		return o.ups[:], o.outs[:]
	}
	return make([]upload, n), make([]Outcome, n)
}

func (u *upload) dest() Dest { return u.s.dests[u.idx] }

func (u *upload) begin(ctx context.Context, m transfer.Meta, src Source) {
	d := u.dest()
	resume := u.resumable(ctx, m, src)
	u.up, u.err = d.D.Begin(ctx, u.rel, m, resume)
	if u.err != nil {
		u.err = fmt.Errorf("%s: begin %s: %w", d.Name, u.rel, u.err)
	}
}

func (u *upload) write(ctx context.Context, off int64, p []byte) {
	if u.err != nil {
		return
	}
	if err := u.up.Write(ctx, off, p); err != nil {
		u.err = fmt.Errorf("%s: write %s at %d: %w", u.dest().Name, u.rel, off, err)
		if !u.keepForResume(ctx) {
			_ = u.up.Abort(context.WithoutCancel(ctx))
		}
		return
	}
	u.checkpoint()
}

// checkpoint stores the upload's state whenever it holds more acknowledged
// parts than the last stored one.
func (u *upload) checkpoint() {
	cs := u.s.opts.Checkpoints
	if cs == nil {
		return
	}
	cp := u.up.Checkpoint()
	if cp == nil || len(cp.Parts) == u.parts {
		return
	}
	u.parts = len(cp.Parts)
	data, err := EncodeCheckpoint(u.id, u.grow, cp)
	if err == nil {
		err = cs.Save(u.dest().Name, u.rel, data)
	}
	if err != nil {
		err = fmt.Errorf("%s: checkpoint %s: %w", u.dest().Name, u.rel, err)
		cs.Warn(err)
		return
	}
	u.saved = true
}

// keepForResume reports whether an interrupted upload should stay for the
// next run: on shutdown a checkpointed multipart upload is left in place,
// so the next run sends only the parts it lacks.
func (u *upload) keepForResume(ctx context.Context) bool {
	return ctx.Err() != nil && u.s.opts.Checkpoints != nil && u.up.Checkpoint() != nil
}

// flushWait bounds the wait for parts in flight at shutdown.
const flushWait = 10 * time.Second

// flush lets the parts in flight of an upload kept for resuming finish, and
// checkpoints them, so the next run does not send them again.
func (u *upload) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushWait)
	defer cancel()
	if transfer.Flush(fctx, u.up) == nil {
		u.checkpoint()
	}
}

// finish publishes with final, or abandons the upload when final is nil,
// then verifies what was published.
func (u *upload) finish(ctx context.Context, final *transfer.Meta) {
	if u.up == nil {
		return // Begin failed; u.err says why
	}
	if final == nil {
		switch {
		case u.err != nil:
		case u.keepForResume(ctx):
			u.flush(ctx)
		default:
			_ = u.up.Abort(context.WithoutCancel(ctx))
		}
		return
	}
	if u.err != nil {
		return
	}
	d := u.dest()
	if err := u.up.Commit(ctx, *final); err != nil {
		u.err = fmt.Errorf("%s: publish %s: %w", d.Name, u.rel, err)
		_ = u.up.Abort(context.WithoutCancel(ctx))
		return
	}
	if u.saved || u.parts > 0 {
		if err := u.s.opts.Checkpoints.Delete(d.Name, u.rel); err != nil {
			u.s.opts.Checkpoints.Warn(fmt.Errorf("%s: forget checkpoint of %s: %w", d.Name, u.rel, err))
		}
	}
	u.verify(ctx, *final)
}

func (u *upload) verify(ctx context.Context, m transfer.Meta) {
	v := u.s.opts.Verify
	d := u.dest()
	if _, ok := d.D.(transfer.Discarder); v == VerifyNone || ok {
		return
	}
	if _, ok := transfer.As[transfer.CommitVerifier](d.D); ok && v != VerifyAll {
		return
	}
	if err := VerifyAt(ctx, d.D, u.rel, m, v == VerifyAll); err != nil {
		u.err = fmt.Errorf("%s: verify %s: %w", d.Name, u.rel, err)
	}
}
