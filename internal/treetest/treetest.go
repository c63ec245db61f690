// Package treetest builds source trees and compares a replica with its
// source byte for byte, for the agent's and the command's end-to-end tests.
package treetest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"
)

// Write creates files under root from rel path → content, with parents.
func Write(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Random writes n files of 1..maxSize bytes of seeded random content in
// nested directories, and returns their rel paths.
func Random(t testing.TB, root string, seed uint64, n, maxSize int) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var rels []string
	for i := range n {
		rel := fmt.Sprintf("d%02d/sub%d/f%05d.bin", i%7, i%3, i)
		buf := make([]byte, 1+r.IntN(maxSize))
		for k := range buf {
			buf[k] = byte(r.Uint32())
		}
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf, 0o640); err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	return rels
}

// Entry is what Snapshot records of one path.
type Entry struct {
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
	Target  string
	Content []byte
	Ino     uint64
}

// Snapshot reads a tree (without following symlinks), skipping names for
// which skip returns true.
func Snapshot(t testing.TB, root string, skip func(name string) bool) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if skip != nil && skip(de.Name()) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		e := Entry{Mode: fi.Mode(), ModTime: fi.ModTime()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.Ino = st.Ino
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Target, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			e.Size = fi.Size()
			e.Content, err = os.ReadFile(p)
		}
		out[filepath.ToSlash(rel)] = e
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return out
}

// Equal fails the test unless dst holds exactly src: same paths, types,
// modes, content, symlink targets, file mtimes, and hard links kept as links.
func Equal(t testing.TB, src, dst string) {
	t.Helper()
	a := Snapshot(t, src, nil)
	b := Snapshot(t, dst, func(n string) bool { return len(n) > 13 && n[:13] == ".efssync-tmp-" })
	for _, tmp := range Leftovers(t, dst) {
		t.Errorf("temp file left at the destination: %s", tmp)
	}
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	linksA, linksB := map[uint64]string{}, map[uint64]string{}
	for _, k := range keys {
		ea := a[k]
		eb, ok := b[k]
		if !ok {
			t.Errorf("%q missing at destination", k)
			continue
		}
		if ea.Mode != eb.Mode {
			t.Errorf("%q: mode %v, source %v", k, eb.Mode, ea.Mode)
		}
		if ea.Mode.IsRegular() {
			if !bytes.Equal(ea.Content, eb.Content) {
				t.Errorf("%q: content differs (%d vs %d bytes)", k, len(eb.Content), len(ea.Content))
			}
			if !ea.ModTime.Equal(eb.ModTime) {
				t.Errorf("%q: mtime %v, source %v", k, eb.ModTime, ea.ModTime)
			}
			if first, ok := linksA[ea.Ino]; ok {
				if b[first].Ino != eb.Ino {
					t.Errorf("%q: hard link to %q not kept", k, first)
				}
			}
			linksA[ea.Ino] = k
			linksB[eb.Ino] = k
		}
		if ea.Target != eb.Target {
			t.Errorf("%q: symlink target %q, source %q", k, eb.Target, ea.Target)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("%q at destination but not in source", k)
		}
	}
}

// Leftovers lists temp files under root.
func Leftovers(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err == nil && len(de.Name()) > 13 && de.Name()[:13] == ".efssync-tmp-" {
			out = append(out, p)
		}
		return nil
	})
	return out
}
