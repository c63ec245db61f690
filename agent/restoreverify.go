package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/efssync/efssync/agent/report"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3src"
)

// verifyRestore is Verify for a job whose source is S3: every listed
// object is read and hashed (trusting neither the manifest nor the BLAKE3
// stored with it), then each destination's copy is compared with it.
func (a *Agent) verifyRestore(ctx context.Context, job config.Job, out io.Writer, res *VerifyResult) error {
	src, err := openS3Source(ctx, job)
	if err != nil {
		return err
	}
	rep, _ := report.Open("")
	j, err := a.newJobRun(ctx, job, rep, &report.Counters{})
	if err != nil {
		return err
	}
	objs := make(chan s3src.Object, 256)
	listErr := make(chan error, 1)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { listErr <- src.List(lctx, objs) }()
	var mu sync.Mutex
	report := func(dest, rel, why string, isErr bool) {
		mu.Lock()
		res.add(isErr)
		fmt.Fprintf(out, "%s\t%s\t%q\t%s\n", job.Name, dest, rel, why)
		mu.Unlock()
	}
	checked := func() { mu.Lock(); res.Checked++; mu.Unlock() }
	runWorkers(job.Concurrency, objs, func(o s3src.Object) { checked(); j.verifyObject(ctx, src, o, report) })
	if err := <-listErr; err != nil {
		return fmt.Errorf("list %s: %w", src.Name(), err)
	}
	return nil
}

// verifyObject compares one object with every destination's copy.
func (j *jobRun) verifyObject(ctx context.Context, src *s3src.Source, o s3src.Object, report func(dest, rel, why string, isErr bool)) {
	if o.Err != nil {
		report("-", o.Key, "source unusable: "+o.Err.Error(), true)
		return
	}
	if j.filter.Excluded(o.Rel, o.Dir) || excludedByParent(j.filter, o.Rel) {
		return
	}
	if o.Dir {
		j.verifyMarker(ctx, o, report)
		return
	}
	m, sum, err := hashObject(ctx, src, o)
	if err != nil {
		report("-", o.Rel, "source unreadable: "+err.Error(), true)
		return
	}
	if m.Hash != nil && string(m.Hash) != string(sum[:]) {
		report("-", o.Rel, fmt.Sprintf("object's bytes hash to %x, its stored BLAKE3 is %x", sum, m.Hash), false)
	}
	want := transfer.Meta{Size: o.Size, ModTime: m.ModTime, Hash: sum[:]}
	for _, d := range j.dests {
		got, err := d.d.Stat(ctx, o.Rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			report(d.name, o.Rel, "missing", false)
			continue
		case err != nil:
			report(d.name, o.Rel, "unreadable: "+err.Error(), true)
			continue
		case got.Mode.Perm() != 0 && got.Mode.Perm() != m.Mode.Perm():
			report(d.name, o.Rel, fmt.Sprintf("mode is %v, source has %v", got.Mode.Perm(), m.Mode.Perm()), false)
		}
		if err := send.VerifyAt(ctx, d.d, o.Rel, want, true); err != nil {
			report(d.name, o.Rel, err.Error(), !send.IsDifference(err))
		}
	}
}

// hashObject reads an object whole and returns its metadata and BLAKE3.
func hashObject(ctx context.Context, src *s3src.Source, o s3src.Object) (s3src.Meta, [32]byte, error) {
	rd, err := src.Open(ctx, o, nil)
	if err != nil {
		return s3src.Meta{}, [32]byte{}, err
	}
	defer rd.Close()
	os3 := newObjectSource(rd, o, nil)
	defer os3.release()
	sum, err := send.HashAll(readerOf{ctx, os3})
	return rd.Meta(), sum, err
}

// readerOf reads a send.Source as an io.Reader.
type readerOf struct {
	ctx context.Context
	src send.Source
}

func (r readerOf) Read(p []byte) (int, error) { return r.src.Read(r.ctx, p) }
