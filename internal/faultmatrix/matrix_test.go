package faultmatrix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efssync/efssync/agent"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer/fsdest"
)

// logger shows the agent's errors in the test log only with -v, so a
// passing matrix stays quiet.
func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// finish validates cfg after the test filled it in.
func finish(t *testing.T, cfg *config.Config) *config.Config {
	t.Helper()
	cfg.SetDefaults(nil)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runOnce runs every job once and reports whether it ended in sync.
func runOnce(ctx context.Context, t *testing.T, cfg *config.Config) (bool, error) {
	t.Helper()
	a, err := agent.New(cfg, agent.Options{Log: logger(t)})
	if err != nil {
		return false, err
	}
	sum, err := a.Run(ctx)
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	return err == nil && sum.OK(), err
}

// watcher is a watch-mode agent running until stopped.
type watcher struct {
	ready  chan struct{}
	cancel context.CancelFunc
	done   chan error
}

func startWatch(t *testing.T, cfg *config.Config) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{ready: make(chan struct{}), cancel: cancel, done: make(chan error, 1)}
	var readied sync.Once
	a, err := agent.New(cfg, agent.Options{Log: logger(t), Notify: func(s string) {
		if s == "READY=1" {
			readied.Do(func() { close(w.ready) })
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := a.Run(ctx)
		if cerr := a.Close(); err == nil {
			err = cerr
		}
		w.done <- err
	}()
	t.Cleanup(func() { _ = w.stop() })
	select {
	case <-w.ready:
	case err := <-w.done:
		w.done <- err
		t.Fatalf("watch run ended before it was ready: %v", err)
	}
	return w
}

// stop ends the watch run once and returns how it ended.
func (w *watcher) stop() error {
	w.cancel()
	err, ok := <-w.done
	if ok {
		close(w.done)
	}
	return err
}

// eventually polls cond: it waits for the agent's goroutines, not for a
// duration, and fails after a generous limit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// files maps each regular file's relative path to its content, skipping
// fsdest's temp files and files removed while the tree is walked (the
// agent may be deleting them): a file that is gone holds no version.
func files(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p != root {
			return nil // removed while walked (a mirror delete): not there
		}
		if err != nil || !de.Type().IsRegular() || fsdest.IsTempName(de.Name()) {
			return err
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // listed, then removed before it was read
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return nil
	})
	return out, err
}

// same reports whether dst holds exactly src's files and contents.
func same(src, dst string) bool {
	a, errA := files(src)
	b, errB := files(dst)
	if errA != nil || errB != nil || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// history is every content each path of the source ever had.
type history map[string][][]byte

func (h history) add(t *testing.T, src string) {
	t.Helper()
	fs, err := files(src)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range fs {
		h[k] = append(h[k], v)
	}
}

// partials lists the files under a final name that are no version the
// source had: what must never be visible.
func (h history) partials(t *testing.T, got map[string][]byte) []string {
	t.Helper()
	var bad []string
	for rel, b := range got {
		ok := false
		for _, v := range h[rel] {
			ok = ok || bytes.Equal(v, b)
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("%s (%d bytes)", rel, len(b)))
		}
	}
	return bad
}

// writeFiles writes n files of a few sizes below dir/sub, the load each
// case syncs while its fault is active.
func writeFiles(t *testing.T, dir, sub string, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		data := bytes.Repeat([]byte(fmt.Sprintf("%s-%d;", sub, i)), 1000+i*9000)
		if err := os.WriteFile(filepath.Join(dir, sub, fmt.Sprintf("f%02d.bin", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, root, rel, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, rel), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listen opens a loopback listener for an in-test server.
func listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
