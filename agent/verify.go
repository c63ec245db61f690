package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/efssync/efssync/agent/report"
	"github.com/efssync/efssync/agent/walk"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/transfer"
)

// Verify re-reads every destination of the selected jobs and writes one line
// per path whose content or metadata differs from the source. It returns the
// number of differences. It trusts nothing in the manifest.
func (a *Agent) Verify(ctx context.Context, out io.Writer) (int, error) {
	diffs := 0
	for _, job := range a.selected() {
		if job.From.IsS3() {
			n, err := a.verifyRestore(ctx, job, out)
			diffs += n
			if err != nil {
				return diffs, fmt.Errorf("job %s: %w", job.Name, err)
			}
			continue
		}
		c := &report.Counters{}
		rep, _ := report.Open("")
		j, err := a.newJobRun(ctx, job, rep, c)
		if err != nil {
			return diffs, fmt.Errorf("job %s: %w", job.Name, err)
		}
		check := func(h heldEntry) error {
			for _, d := range j.dests {
				if why := j.verifyEntry(ctx, d, h.e); why != "" {
					diffs++
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
			diffs++
			fmt.Fprintf(out, "%s\t-\t%q\tsource unreadable: %v\n", job.Name, rel, err)
		})
		if err == nil {
			err = j.shards.finish(check)
		}
		if err != nil {
			return diffs, fmt.Errorf("job %s: %w", job.Name, err)
		}
	}
	return diffs, nil
}

func (j *jobRun) verifyEntry(ctx context.Context, d *destination, e walk.Entry) string {
	mode := e.Mode
	if !mode.IsRegular() && !mode.IsDir() && mode&fs.ModeSymlink == 0 {
		return ""
	}
	_, isDirMaker := transfer.As[transfer.DirMaker](d.d)
	if mode.IsDir() && !isDirMaker {
		return "" // object stores have no directories
	}
	if mode&fs.ModeSymlink != 0 {
		if _, ok := transfer.As[transfer.Symlinker](d.d); !ok {
			return ""
		}
	}
	got, err := d.d.Stat(ctx, e.Rel)
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	if err != nil {
		return "unreadable: " + err.Error()
	}
	if got.Mode.Type() != mode.Type() && !(got.Mode.Type() == 0 && mode.IsRegular()) {
		return fmt.Sprintf("type is %s, source has %s", got.Mode.Type(), mode.Type())
	}
	if got.Mode.Perm() != 0 && got.Mode.Perm() != mode.Perm() && mode&fs.ModeSymlink == 0 {
		return fmt.Sprintf("mode is %v, source has %v", got.Mode.Perm(), mode.Perm())
	}
	if mode&fs.ModeSymlink != 0 {
		return verifyLinkTarget(ctx, d.d, e)
	}
	if !mode.IsRegular() {
		return ""
	}
	st := e.St
	m := transfer.Meta{Size: st.Size, ModTime: st.Mtime}
	sum, err := hashFile(e.Abs())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		return "source unreadable: " + err.Error()
	}
	m.Hash = sum[:]
	if err := send.VerifyAt(ctx, d.d, e.Rel, m, true); err != nil {
		return err.Error()
	}
	return ""
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
