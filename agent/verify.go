package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/efssync/efssync/agent/policy"
	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/transfer"
)

// VerifyResult counts what Verify found, so the command can tell a
// destination that differs (repair helps) from one it could not read (an
// authorization failure, an unreadable source: re-sending does not help).
type VerifyResult struct {
	// Checked counts the source entries compared with the destinations.
	Checked int
	// Differ counts entries, per destination, missing or different there.
	Differ int
	// Errors counts entries, per destination, that could not be read at
	// the source or at the destination.
	Errors int
}

// add counts one finding of an entry at a destination.
func (r *VerifyResult) add(isErr bool) {
	if isErr {
		r.Errors++
	} else {
		r.Differ++
	}
}

// Verify re-reads every destination of the selected jobs and writes one line
// per path whose content or metadata differs from the source. It returns the
// number of differences and errors. It trusts nothing in the manifest.
func (a *Agent) Verify(ctx context.Context, out io.Writer) (int, error) {
	r, err := a.VerifyCount(ctx, out)
	return r.Differ + r.Errors, err
}

// VerifyCount is Verify, with differences and errors counted apart.
func (a *Agent) VerifyCount(ctx context.Context, out io.Writer) (VerifyResult, error) {
	var res VerifyResult
	for _, job := range a.selected() {
		if job.From.IsS3() {
			err := a.verifyRestore(ctx, job, out, &res)
			if err != nil {
				return res, fmt.Errorf("job %s: %w", job.Name, err)
			}
			continue
		}
		c := &report.Counters{}
		rep, _ := report.Open("")
		j, err := a.newJobRun(ctx, job, rep, c)
		if err != nil {
			return res, fmt.Errorf("job %s: %w", job.Name, err)
		}
		check := func(h heldEntry) error {
			res.Checked++
			for _, d := range j.dests {
				if why, isErr := j.verifyEntry(ctx, d, h.e); why != "" {
					res.add(isErr)
					fmt.Fprintf(out, "%s\t%s\t%q\t%s\n", job.Name, d.name, h.e.Rel, why)
				}
			}
			return nil
		}
		// The shard's own entries, placed as its run places them; a
		// directory by its path's hash. Another shard verifies the rest.
		err = walk.Tree(ctx, j.src, j.filter, func(e walk.Entry) error {
			if e.Mode.IsDir() {
				if !j.shards.owns(e.Rel) {
					return nil
				}
				return check(heldEntry{e: e})
			}
			return j.shards.admit(heldEntry{e: e}, check)
		}, func(rel string, err error) {
			res.Errors++
			fmt.Fprintf(out, "%s\t-\t%q\tsource unreadable: %v\n", job.Name, rel, err)
		})
		if err == nil {
			err = j.shards.finish(check)
		}
		if err != nil {
			return res, fmt.Errorf("job %s: %w", job.Name, err)
		}
	}
	return res, nil
}

// verifyEntry says how the destination's copy of e differs from the
// source, or "" when it does not; isErr when it could not be read.
func (j *jobRun) verifyEntry(ctx context.Context, d *destination, e walk.Entry) (why string, isErr bool) {
	mode := e.Mode
	if !mode.IsRegular() && !mode.IsDir() && mode&fs.ModeSymlink == 0 {
		return "", false
	}
	_, isDirMaker := transfer.As[transfer.DirMaker](d.d)
	if mode.IsDir() && !isDirMaker {
		return "", false // object stores have no directories
	}
	if mode&fs.ModeSymlink != 0 {
		if _, ok := transfer.As[transfer.Symlinker](d.d); !ok {
			return "", false
		}
	}
	got, err := d.d.Stat(ctx, e.Rel)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing", false
	}
	if err != nil {
		return "unreadable: " + err.Error(), true
	}
	if got.Mode.Type() != mode.Type() && !(got.Mode.Type() == 0 && mode.IsRegular()) {
		return fmt.Sprintf("type is %s, source has %s", got.Mode.Type(), mode.Type()), false
	}
	if got.Mode.Perm() != 0 && got.Mode.Perm() != mode.Perm() && mode&fs.ModeSymlink == 0 {
		return fmt.Sprintf("mode is %v, source has %v", got.Mode.Perm(), mode.Perm()), false
	}
	if mode&fs.ModeSymlink != 0 {
		return verifyLinkTarget(ctx, d.d, e), false
	}
	if isDirMaker {
		if diff := policy.OwnerDiffers(policy.Meta(e.St, mode), got, ownersApplied()); diff != "" {
			return diff, false
		}
	}
	if !mode.IsRegular() {
		return "", false
	}
	st := e.St
	m := transfer.Meta{Size: st.Size, ModTime: st.Mtime}
	sum, err := hashFile(e.Abs())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false
		}
		return "source unreadable: " + err.Error(), true
	}
	m.Hash = sum[:]
	if err := send.VerifyAt(ctx, d.d, e.Rel, m, true); err != nil {
		return err.Error(), !send.IsDifference(err)
	}
	return "", false
}

func hashFile(path string) ([32]byte, error) {
	f, err := walk.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	sum, err := send.HashAll(f)
	if err != nil {
		return sum, fmt.Errorf("read %s: %w", path, err)
	}
	return sum, nil
}
