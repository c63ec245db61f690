package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGCDryRunChangesNothing: gc --dry-run lists the stale S3 upload and
// the fs temp file a real gc would remove, and leaves both, and the
// checkpoint, in place; the real gc then still removes both.
func TestGCDryRunChangesNothing(t *testing.T) {
	s := newStaleUpload(t)
	f := s.f
	ctx := context.Background()

	// A checkpoint of a crashed run, for a version of rec.ts that is gone.
	a, err := New(f.config(), Options{})
	must(t, err)
	s3name := a.cfg.Jobs[0].Destinations[1].Name
	s.checkpoint(t, a)
	ownTmp := filepath.Join(f.dests[0], "sub", ".efssync-tmp-"+a.tag+"-0123456789abcdef")
	a.Close()
	must(t, os.MkdirAll(filepath.Dir(ownTmp), 0o755))
	must(t, os.WriteFile(ownTmp, []byte("x"), 0o600))

	var plan bytes.Buffer
	a, err = New(f.config(), Options{DryRun: true, PlanOut: &plan})
	must(t, err)

	n, err := a.GC(ctx)
	must(t, err)
	if n != 2 {
		t.Errorf("dry-run gc counted %d, want 2", n)
	}
	for _, want := range []string{"rec/rec.ts", s.id, ownTmp} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("dry-run gc output does not list %s:\n%s", want, plan.String())
		}
	}
	if got, err := a.db.GetCheckpoint("job", s3name, "rec.ts"); err != nil || got == nil {
		t.Errorf("dry-run gc forgot the checkpoint: %v, %v", got, err)
	}
	a.Close()
	if _, err := os.Stat(ownTmp); err != nil {
		t.Errorf("dry-run gc removed the temp file: %v", err)
	}
	if ups := s.uploads(t); len(ups) != 1 {
		t.Fatalf("uploads after dry-run gc: %d, want the stale one still there", len(ups))
	}

	a, err = New(f.config(), Options{})
	must(t, err)
	n, err = a.GC(ctx)
	a.Close()
	must(t, err)
	if n != 2 {
		t.Errorf("real gc after the dry run removed %d, want 2", n)
	}
	if ups := s.uploads(t); len(ups) != 0 {
		t.Errorf("real gc left %d uploads", len(ups))
	}
}
