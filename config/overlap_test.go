package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// overlapTree is a temp dir with src/, dst/, other/ and symlinks to them.
func overlapTree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{"src/sub", "dst/sub", "other", "state"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"src-link": "src", "dst-link": filepath.Join(base, "dst"), "sub-link": "dst/sub",
	} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func fsDests(paths ...string) []Destination {
	var out []Destination
	for _, p := range paths {
		out = append(out, Destination{Type: "fs", Path: p})
	}
	return out
}

func TestOverlapIsJudgedOnResolvedPaths(t *testing.T) {
	base := overlapTree(t)
	at := func(p string) string { return filepath.Join(base, p) }
	cases := []struct {
		name  string
		state string
		jobs  []Job
		want  []string // substrings of the one problem expected; nil: none
	}{
		{"dest is the source through a link", "",
			[]Job{{Source: at("src"), Destinations: fsDests(at("src-link"))}},
			[]string{"jobs[0].destinations[0].path", "is the same directory as jobs[0].source"}},
		{"dest inside the source through a link", "",
			[]Job{{Source: at("src"), Destinations: fsDests(at("src-link/replica"))}},
			[]string{"jobs[0].destinations[0].path", "is inside jobs[0].source"}},
		{"source inside the dest through a link", "",
			[]Job{{Source: at("dst-link/sub"), Destinations: fsDests(at("dst"))}},
			[]string{"jobs[0].destinations[0].path", "contains jobs[0].source"}},
		{"two jobs, one dest directory", "",
			[]Job{{Source: at("src"), Destinations: fsDests(at("dst"))}, {Source: at("other"), Destinations: fsDests(at("dst-link"))}},
			[]string{"jobs[1].destinations[0].path", "is the same directory as jobs[0].destinations[0].path"}},
		{"two dests of a job nested through a link", "",
			[]Job{{Source: at("src"), Destinations: fsDests(at("sub-link"), at("dst"))}},
			[]string{"jobs[0].destinations[1].path", "contains jobs[0].destinations[0].path"}},
		{"state inside a dest through a link", at("dst-link/state"),
			[]Job{{Source: at("src"), Destinations: fsDests(at("dst"))}},
			[]string{"state_dir", "is inside jobs[0].destinations[0].path"}},
		{"state inside a source", at("src/sub/.efssync"),
			[]Job{{Source: at("src-link"), Destinations: fsDests(at("dst"))}},
			[]string{"state_dir", "is inside jobs[0].source"}},
		{"disjoint", "",
			[]Job{{Source: at("src"), Destinations: append(fsDests(at("dst")), Destination{Type: "s3", S3Location: S3Location{Bucket: "b"}})}},
			nil},
		{"a job's destination is another job's source", "",
			[]Job{{Source: at("src"), Destinations: fsDests(at("dst"))}, {Source: at("dst-link"), Destinations: fsDests(at("other"))}},
			nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{StateDir: c.state, Jobs: c.jobs}
			if cfg.StateDir == "" {
				cfg.StateDir = at("state")
			}
			err := cfg.CheckOverlaps()
			var ve *ValidationError
			if c.want == nil {
				if err != nil {
					t.Fatalf("CheckOverlaps: %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("CheckOverlaps: %v, want one problem", err)
			}
			for _, w := range c.want {
				if !strings.Contains(ve.Problems[0], w) {
					t.Errorf("problem %q does not say %q", ve.Problems[0], w)
				}
			}
			if !strings.HasPrefix(ve.Problems[0], c.want[0]+": ") {
				t.Errorf("problem %q does not start with its key %s", ve.Problems[0], c.want[0])
			}
		})
	}
}

// Validate reports overlaps too.
func TestValidateReportsOverlap(t *testing.T) {
	base := overlapTree(t)
	cfg := &Config{StateDir: filepath.Join(base, "dst", "state"),
		Jobs: []Job{{Name: "j", Source: filepath.Join(base, "src"), Destinations: fsDests(filepath.Join(base, "dst-link"))}}}
	cfg.SetDefaults(nil)
	var ve *ValidationError
	if err := cfg.Validate(); !errors.As(err, &ve) || !strings.Contains(err.Error(), "state_dir: ") {
		t.Fatalf("Validate: %v, want the state_dir overlap", err)
	}
	if len(ve.Problems) != 1 {
		t.Errorf("problems: %q; want only state_dir's (manifest and report_dir live in it)", ve.Problems)
	}
}

// A destination reached through a bind mount of the source is the same
// directory: only device and inode tell, since no symlink is involved.
func TestOverlapThroughBindMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("bind mounts need root")
	}
	base := overlapTree(t)
	bind := filepath.Join(base, "bind")
	if err := os.Mkdir(bind, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(filepath.Join(base, "src"), bind, "", unix.MS_BIND, ""); err != nil {
		t.Skipf("bind mount refused here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(bind, unix.MNT_DETACH) })
	cfg := &Config{StateDir: filepath.Join(base, "state"), Jobs: []Job{{Source: filepath.Join(base, "src"), Destinations: fsDests(filepath.Join(bind, "sub"))}}}
	var ve *ValidationError
	if err := cfg.CheckOverlaps(); !errors.As(err, &ve) || len(ve.Problems) != 1 || !strings.Contains(ve.Problems[0], "is inside jobs[0].source") {
		t.Fatalf("CheckOverlaps: %v, want the destination inside the source", err)
	}
}
