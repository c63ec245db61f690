package follow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

// open creates path with content and returns a writer and a reader on it.
func open(t *testing.T, path string, content string) (w, r *os.File) {
	t.Helper()
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.WriteString(content); err != nil {
		t.Fatal(err)
	}
	r, err = os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return w, r
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func TestFollowGrowingThenQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seg.ts")
		w, r := open(t, path, "")
		wake := make(chan struct{}, 1)
		const quiet = 3 * time.Second
		fl := New(r, Options{Path: path, Quiet: quiet, Wake: wake})

		start := time.Now()
		var want bytes.Buffer
		writerDone := make(chan time.Time, 1)
		go func() {
			for i := range 5 {
				chunk := bytes.Repeat([]byte{byte('a' + i)}, 1000)
				want.Write(chunk)
				if _, err := w.Write(chunk); err != nil {
					t.Error(err)
				}
				signal(wake)
				time.Sleep(time.Second)
			}
			writerDone <- time.Now().Add(-time.Second) // time of the last write
		}()

		var got bytes.Buffer
		buf := make([]byte, 600)
		var firstAt time.Time
		for {
			n, err := fl.Read(t.Context(), buf)
			got.Write(buf[:n])
			if n > 0 && firstAt.IsZero() {
				firstAt = time.Now()
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		lastWrite := <-writerDone
		if firstAt.Sub(start) != 0 {
			t.Errorf("first bytes after %v, want immediately", firstAt.Sub(start))
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("got %d bytes, want %d", got.Len(), want.Len())
		}
		if d := time.Since(lastWrite); d != quiet {
			t.Errorf("finished %v after the last write, want exactly %v", d, quiet)
		}
		size, _, ok := fl.Final()
		if !ok || size != 5000 || fl.Offset() != 5000 {
			t.Errorf("Final = %d %v, Offset = %d", size, ok, fl.Offset())
		}
		if n, err := fl.Read(t.Context(), buf); n != 0 || err != io.EOF {
			t.Errorf("Read after finish = %d, %v", n, err)
		}
	})
}

func TestFollowPollWithoutWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seg.ts")
		w, r := open(t, path, "abc")
		fl := New(r, Options{Quiet: time.Second, Poll: 100 * time.Millisecond})
		buf := make([]byte, 10)
		if n, err := fl.Read(t.Context(), buf); n != 3 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		go func() {
			time.Sleep(250 * time.Millisecond)
			w.WriteString("de")
		}()
		start := time.Now()
		n, err := fl.Read(t.Context(), buf)
		if n != 2 || err != nil || string(buf[:2]) != "de" {
			t.Fatalf("Read = %d %q, %v", n, buf[:n], err)
		}
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Errorf("picked up growth after %v, want the next poll tick at 300ms", d)
		}
	})
}

func TestFollowClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seg.ts")
		w, r := open(t, path, "hello")
		closed := make(chan struct{})
		fl := New(r, Options{Path: path, Quiet: time.Hour, Closed: closed})
		buf := make([]byte, 64)
		if n, _ := fl.Read(t.Context(), buf); n != 5 {
			t.Fatalf("first read %d", n)
		}
		var closedAt time.Time
		go func() {
			time.Sleep(2 * time.Second)
			w.WriteString(" world")
			w.Close()
			closedAt = time.Now()
			close(closed)
		}()
		var got []byte
		for {
			n, err := fl.Read(t.Context(), buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if string(got) != " world" {
			t.Errorf("tail = %q", got)
		}
		if time.Since(closedAt) != 0 {
			t.Errorf("finished %v after close, want promptly", time.Since(closedAt))
		}
	})
}

func TestFollowTruncated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seg.ts")
		w, r := open(t, path, "0123456789")
		fl := New(r, Options{Quiet: time.Hour})
		buf := make([]byte, 64)
		if n, _ := fl.Read(t.Context(), buf); n != 10 {
			t.Fatal(n)
		}
		go func() {
			time.Sleep(time.Second)
			w.Truncate(4)
		}()
		_, err := fl.Read(t.Context(), buf)
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("err = %v, want ErrTruncated", err)
		}
	})
}

func TestFollowReplacedAndRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "seg.ts")
		_, r := open(t, path, "old")
		fl := New(r, Options{Path: path, Quiet: time.Hour})
		buf := make([]byte, 64)
		fl.Read(t.Context(), buf)
		if err := os.WriteFile(path+".tmp", []byte("new content"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
		if _, err := fl.Read(t.Context(), buf); !errors.Is(err, ErrTruncated) {
			t.Fatalf("replaced: err = %v, want ErrTruncated", err)
		}

		_, r2 := open(t, filepath.Join(dir, "b.ts"), "x")
		fl2 := New(r2, Options{Path: filepath.Join(dir, "b.ts"), Quiet: time.Hour})
		fl2.Read(t.Context(), buf)
		os.Remove(filepath.Join(dir, "b.ts"))
		if _, err := fl2.Read(t.Context(), buf); !errors.Is(err, ErrRemoved) {
			t.Fatalf("removed: err = %v, want ErrRemoved", err)
		}
	})
}

func TestFollowContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seg.ts")
		_, r := open(t, path, "")
		fl := New(r, Options{}) // no quiet, no Closed: waits for ever
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := fl.Read(ctx, make([]byte, 8))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("returned after %v", d)
		}
	})
}
