package fsdest_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/fsdest"
)

// planted is a destination with a symlink planted somewhere inside it that
// points outside, next to a victim directory holding a precious file.
type planted struct {
	root, victim string
	d            *fsdest.Dest
}

// plant makes the destination and the victim, then plants link (relative
// to the root) pointing at target; target "VICTIM" stands for the victim
// directory's absolute path.
func plant(t *testing.T, link, target string, opts fsdest.Options) planted {
	t.Helper()
	base := t.TempDir()
	p := planted{root: filepath.Join(base, "dst"), victim: filepath.Join(base, "victim")}
	for _, dir := range []string{p.root, p.victim} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"f", "x", "secret", opts.TempTag} {
		if name == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(p.victim, name), []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target = strings.Replace(target, "VICTIM", p.victim, 1)
	at := filepath.Join(p.root, filepath.FromSlash(link))
	if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, at); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("local", p.root, opts)
	if err != nil {
		t.Fatal(err)
	}
	p.d = d
	return p
}

// untouched fails the test when anything in the victim directory changed.
func (p planted) untouched(t *testing.T, op string) {
	t.Helper()
	entries, err := os.ReadDir(p.victim)
	if err != nil {
		t.Fatalf("after %s: victim directory: %v", op, err)
	}
	if len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("after %s: victim directory holds %v, want exactly f, secret, x", op, names)
	}
	for _, name := range []string{"f", "x", "secret"} {
		b, err := os.ReadFile(filepath.Join(p.victim, name))
		if err != nil || string(b) != "precious" {
			t.Errorf("after %s: victim/%s = %q, %v; want it untouched", op, name, b, err)
		}
	}
}

func meta(n int) transfer.Meta {
	return transfer.Meta{Size: int64(n), Mode: 0o644, ModTime: time.Unix(1_700_000_000, 0), UID: -1, GID: -1}
}

// publish sends content to rel; it reports the first error.
func publish(d *fsdest.Dest, rel, content string) error {
	ctx := context.Background()
	u, err := d.Begin(ctx, rel, meta(len(content)), nil)
	if err != nil {
		return err
	}
	if err := u.Write(ctx, 0, []byte(content)); err != nil {
		_ = u.Abort(ctx)
		return err
	}
	return u.Commit(ctx, meta(len(content)))
}

// Every operation through a symlinked directory component stays inside
// the destination: a link deep in the path, a link to "..", an absolute
// link and a relative one that climbs out.
func TestSymlinkedDirectoryIsNeverFollowed(t *testing.T) {
	links := []struct{ name, link, target, dir string }{
		{"deep absolute", "a/b/c", "VICTIM", "a/b/c"},
		{"top absolute", "sub", "VICTIM", "sub"},
		{"relative climbing out", "a/up", "../../victim", "a/up"},
	}
	ctx := context.Background()
	for _, l := range links {
		ops := map[string]func(p planted) error{
			"begin+commit": func(p planted) error { return publish(p.d, l.dir+"/f", "v2") },
			"progressive": func(p planted) error {
				d, err := fsdest.New("p", p.root, fsdest.Options{Progressive: true})
				if err != nil {
					return err
				}
				return publish(d, l.dir+"/x", "v2")
			},
			"stat": func(p planted) error {
				m, err := p.d.Stat(ctx, l.dir+"/secret")
				if err == nil {
					t.Errorf("%s: Stat through the link saw %+v", l.name, m)
				}
				return err
			},
			"remove": func(p planted) error { return p.d.Remove(ctx, l.dir+"/x") },
			"mkdir": func(p planted) error {
				return p.d.Mkdir(ctx, l.dir+"/newdir", transfer.Meta{Mode: fs.ModeDir | 0o755, UID: -1, GID: -1})
			},
			"symlink": func(p planted) error { return p.d.Symlink(ctx, l.dir+"/f", "elsewhere", meta(0)) },
			"link": func(p planted) error {
				if err := publish(p.d, "inside", "i"); err != nil {
					return err
				}
				return p.d.Link(ctx, "inside", l.dir+"/f")
			},
			"link from": func(p planted) error { return p.d.Link(ctx, l.dir+"/secret", "stolen") },
			"open": func(p planted) error {
				r, err := p.d.Open(ctx, l.dir+"/secret")
				if err == nil {
					b, _ := io.ReadAll(r)
					r.Close()
					t.Errorf("%s: Open through the link read %q", l.name, b)
				}
				return err
			},
			"list": func(p planted) error {
				return p.d.List(ctx, func(rel string, _ transfer.Meta) error {
					if strings.HasPrefix(rel, l.dir+"/") {
						t.Errorf("%s: List descended the link: %s", l.name, rel)
					}
					return nil
				})
			},
		}
		for op, fn := range ops {
			t.Run(l.name+"/"+op, func(t *testing.T) {
				p := plant(t, l.link, l.target, fsdest.Options{})
				err := fn(p)
				p.untouched(t, op)
				if _, serr := os.Stat(filepath.Join(p.root, "stolen")); serr == nil {
					t.Errorf("a file outside was linked into the destination")
				}
				if err != nil && !strings.Contains(err.Error(), p.root) {
					t.Errorf("error does not name the path: %v", err)
				}
			})
		}
	}
}

// A link to ".." of the root itself: nothing is created, read or removed
// in the root's parent.
func TestLinkToParentOfRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "dst")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "x"), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("local", root, fsdest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = publish(d, "up/new", "v")
	_ = d.Remove(ctx, "up/x")
	_ = d.Mkdir(ctx, "up/dir", transfer.Meta{Mode: fs.ModeDir | 0o755, UID: -1, GID: -1})
	if _, err := os.Stat(filepath.Join(base, "new")); err == nil {
		t.Error("a file was written into the root's parent")
	}
	if _, err := os.Stat(filepath.Join(base, "dir")); err == nil {
		t.Error("a directory was made in the root's parent")
	}
	if b, err := os.ReadFile(filepath.Join(base, "x")); err != nil || string(b) != "precious" {
		t.Errorf("root's parent x: %q, %v", b, err)
	}
}

// A symlink as the final component is the entry itself: Stat reports the
// link, Remove removes the link, publishing replaces the link, and Open
// refuses to read through it.
func TestSymlinkAsFinalComponent(t *testing.T) {
	ctx := context.Background()
	t.Run("stat", func(t *testing.T) {
		p := plant(t, "final", "VICTIM/secret", fsdest.Options{})
		m, err := p.d.Stat(ctx, "final")
		if err != nil || m.Mode&fs.ModeSymlink == 0 {
			t.Errorf("Stat(final) = %v, %v; want the link itself", m.Mode, err)
		}
	})
	t.Run("remove", func(t *testing.T) {
		p := plant(t, "final", "VICTIM/x", fsdest.Options{})
		if err := p.d.Remove(ctx, "final"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(p.root, "final")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the link is still there: %v", err)
		}
		p.untouched(t, "remove")
	})
	t.Run("rename over", func(t *testing.T) {
		p := plant(t, "final", "VICTIM/f", fsdest.Options{})
		if err := publish(p.d, "final", "v2"); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(p.root, "final")); err != nil || string(b) != "v2" {
			t.Errorf("final = %q, %v", b, err)
		}
		p.untouched(t, "rename")
	})
	t.Run("progressive", func(t *testing.T) {
		p := plant(t, "final", "VICTIM/f", fsdest.Options{})
		d, err := fsdest.New("p", p.root, fsdest.Options{Progressive: true})
		if err != nil {
			t.Fatal(err)
		}
		_ = publish(d, "final", "v2")
		p.untouched(t, "progressive publish")
	})
	t.Run("open", func(t *testing.T) {
		p := plant(t, "final", "VICTIM/secret", fsdest.Options{})
		if r, err := p.d.Open(ctx, "final"); err == nil {
			b, _ := io.ReadAll(r)
			r.Close()
			t.Errorf("Open(final) read %q through the link", b)
		}
	})
	t.Run("mkdir replaces", func(t *testing.T) {
		p := plant(t, "final", "VICTIM", fsdest.Options{})
		if err := p.d.Mkdir(ctx, "final", transfer.Meta{Mode: fs.ModeDir | 0o750, UID: -1, GID: -1}); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Join(p.root, "final"))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
			t.Errorf("final after Mkdir: %v, %v; want a 0750 directory", fi, err)
		}
		fi, err = os.Stat(p.victim)
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("victim's mode changed: %v, %v", fi, err)
		}
		p.untouched(t, "mkdir")
	})
}

// The example: a replicated directory replaced by a symlink to a
// directory outside. The next file for it lands inside the destination
// (the link replaced by a directory, as the source has one) or fails; it
// never lands in the victim.
func TestReplicatedDirectoryReplacedByLink(t *testing.T) {
	p := plant(t, "sub", "VICTIM", fsdest.Options{})
	err := publish(p.d, "sub/f", "v2")
	p.untouched(t, "publish")
	if err == nil {
		if b, rerr := os.ReadFile(filepath.Join(p.root, "sub", "f")); rerr != nil || string(b) != "v2" {
			t.Errorf("sub/f = %q, %v", b, rerr)
		}
		if fi, lerr := os.Lstat(filepath.Join(p.root, "sub")); lerr != nil || !fi.IsDir() {
			t.Errorf("sub is not a directory: %v, %v", fi, lerr)
		}
	}
}

// Cleanup and Leftovers never descend a planted link, so a temp-named file
// outside is never removed.
func TestCleanupDoesNotFollowLinks(t *testing.T) {
	opts := fsdest.Options{TempTag: "t1"}
	p := plant(t, "a/b", "VICTIM", opts)
	// A leftover outside, named exactly like this agent's temp files.
	leftover := filepath.Join(p.victim, ".efssync-tmp-t1-0123456789abcdef")
	if err := os.WriteFile(leftover, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.d.Cleanup(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); err != nil {
		t.Errorf("cleanup removed a file outside the destination: %v", err)
	}
}

// A destination root that is itself a symlink (the operator's) is resolved
// once: listing, cleanup and removal work on the real directory.
func TestSymlinkedRootIsResolved(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "vol1", "home")
	if err := os.MkdirAll(filepath.Join(real, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"d/a", "b", "d/.efssync-tmp-t1-0123456789abcdef"} {
		if err := os.WriteFile(filepath.Join(real, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(base, "home")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	d, err := fsdest.New("local", link, fsdest.Options{TempTag: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Root() != real {
		t.Errorf("Root() = %s, want the resolved %s", d.Root(), real)
	}
	var listed []string
	if err := d.List(context.Background(), func(rel string, _ transfer.Meta) error {
		listed = append(listed, rel)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(listed, ",") != "b,d,d/a" {
		t.Errorf("List through a symlinked root: %v, want b, d, d/a", listed)
	}
	n, err := d.Cleanup(context.Background(), nil)
	if err != nil || n != 1 {
		t.Errorf("Cleanup through a symlinked root: %d, %v; want 1", n, err)
	}
}
