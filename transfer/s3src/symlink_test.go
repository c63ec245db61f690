package s3src_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/s3src"
	"github.com/efssync/efssync/transfer/transfertest"
)

// TestSymlinksAndDirsRoundTrip: symlinks and empty directories stored by
// s3dest (which skipped symlinks before) come back from s3src with their
// target, mode, owner and mtime, against a real MinIO.
func TestSymlinksAndDirsRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d, err := s3dest.New(t.Context(), s3dest.Options{Bucket: e.bucket, Prefix: "tree", Region: miniotest.Region,
		Endpoint: e.srv.Endpoint, PathStyle: true, Credentials: e.srv.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := transfer.As[transfer.Symlinker](d); !ok {
		t.Fatal("s3dest is no Symlinker")
	}
	links := map[string]struct {
		target string
		mtime  time.Time
	}{
		"rel":             {"../data/file.txt", time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)},
		"dir/abs":         {"/etc/hostname", time.Date(1960, 6, 7, 8, 9, 10, 0, time.UTC)},
		"odd name \u00e9": {"target with spaces\n\xff\x01 and bytes", time.Date(3000, 1, 1, 0, 0, 0, 1, time.UTC)},
		"long":            {strings.Repeat("a/", 2047) + "b", time.Unix(1_700_000_000, 0)},
		"dangling":        {"does-not-exist", time.Unix(0, 0).UTC()},
	}
	for rel, l := range links {
		m := transfer.Meta{Mode: fs.ModeSymlink | 0o777, ModTime: l.mtime, UID: 1234, GID: 5678}
		if err := d.Symlink(t.Context(), rel, l.target, m); err != nil {
			t.Fatalf("Symlink %s: %v", rel, err)
		}
		if got, err := d.Readlink(t.Context(), rel); err != nil || got != l.target {
			t.Errorf("s3dest Readlink %s = %q, %v", rel, got, err)
		}
		st, err := d.Stat(t.Context(), rel)
		if err != nil || st.Mode&fs.ModeSymlink == 0 || !st.ModTime.Equal(l.mtime) || st.UID != 1234 || st.GID != 5678 {
			t.Errorf("Stat %s = %+v, %v", rel, st, err)
		}
	}
	dirMtime := time.Date(2021, 4, 5, 6, 7, 8, 9, time.UTC)
	if err := d.MarkDir(t.Context(), "empty/nested", transfer.Meta{Mode: fs.ModeDir | fs.ModeSetgid | 0o750, ModTime: dirMtime, UID: 7, GID: 8}); err != nil {
		t.Fatal(err)
	}
	file := transfertest.Content(9, 100)
	put(t, d, "dir/plain", file)

	s, _ := e.source(t, "tree/", nil)
	listed := list(t, s)
	for rel, l := range links {
		o, ok := listed[rel]
		if !ok {
			t.Errorf("%s not listed", rel)
			continue
		}
		target, m, err := s.Readlink(t.Context(), o)
		if err != nil || target != l.target {
			t.Errorf("Readlink %s = %q, %v; want %q", rel, target, err, l.target)
			continue
		}
		if m.Mode != fs.ModeSymlink|0o777 || !m.ModTime.Equal(l.mtime) || m.UID != 1234 || m.GID != 5678 {
			t.Errorf("Readlink %s meta = %+v", rel, m)
		}
		// A restore reading it as a file sees what it is at the first GET.
		r, err := s.Open(t.Context(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Meta().Mode&fs.ModeSymlink == 0 {
			t.Errorf("Open %s: Meta().Mode = %v, want a symlink", rel, r.Meta().Mode)
		}
		r.Close()
	}
	dir, ok := listed["empty/nested"]
	if !ok || !dir.Dir {
		t.Errorf("empty directory marker: %+v, listed %v", dir, ok)
	} else if m, err := s.DirMeta(t.Context(), dir); err != nil || m.Mode != fs.ModeDir|fs.ModeSetgid|0o750 ||
		!m.ModTime.Equal(dirMtime) || m.UID != 7 || m.GID != 8 {
		t.Errorf("DirMeta = %+v, %v", m, err)
	}
	if _, _, err := s.Readlink(t.Context(), listed["dir/plain"]); !errors.Is(err, s3src.ErrNotSymlink) || !strings.Contains(err.Error(), "tree/dir/plain") {
		t.Errorf("Readlink of a file = %v, want ErrNotSymlink naming the key", err)
	}
	if _, err := d.Readlink(t.Context(), "dir/plain"); err == nil || !strings.Contains(err.Error(), "tree/dir/plain") {
		t.Errorf("s3dest Readlink of a file = %v, want an error naming the key", err)
	}
	if m, err := d.Stat(t.Context(), "dir/plain"); err != nil || !m.Mode.IsRegular() {
		t.Errorf("a file's Stat = %+v, %v", m, err)
	}
}

func put(t *testing.T, d transfer.Destination, rel string, data []byte) {
	t.Helper()
	m := transfertest.Meta(data, true)
	u, err := d.Begin(t.Context(), rel, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Write(t.Context(), 0, data); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}
