package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirMask is what every watched directory reports. IN_ONLYDIR and
// IN_DONT_FOLLOW make a watch on a path that became a file or a symlink
// fail instead of watching the wrong thing; IN_EXCL_UNLINK stops events for
// files that were unlinked while still open.
const dirMask = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_CLOSE_WRITE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE | unix.IN_DELETE_SELF |
	unix.IN_ATTRIB | unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK

// Watcher watches one directory tree with a single inotify instance.
type Watcher struct {
	root string
	opts Options
	file *os.File // the inotify fd, non-blocking, so Close unblocks Read
	fd   int
	once sync.Once

	// Owned by New until Run starts, then by the reader goroutine.
	wds   map[int32]string // watch descriptor -> directory rel ("" = root)
	byRel map[string]int32

	// The last MoveFrom, to pair it with the MoveTo that follows it.
	moveCookie uint32
	moveFrom   string

	q   *queue
	out chan Event
}

// New creates a watcher and adds watches for every directory under root
// that Options.Ignore does not exclude. Changes are recorded from the
// moment New returns, so a caller that scans the tree after New misses
// nothing; they are delivered once Run is running. If Run is never called,
// Close releases the inotify instance.
func New(root string, opts Options) (*Watcher, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 64
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 65536
	}
	root = filepath.Clean(root)
	if fi, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("watch: %s: not a directory", root)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch: inotify_init1: %w", err)
	}
	w := &Watcher{
		root:  root,
		opts:  opts,
		file:  os.NewFile(uintptr(fd), "inotify"),
		fd:    fd,
		wds:   make(map[int32]string),
		byRel: make(map[string]int32),
		q:     newQueue(opts.MaxPending),
		out:   make(chan Event, opts.Buffer),
	}
	if err := w.addTree("", false); err != nil {
		w.Close()
		return nil, err
	}
	if _, ok := w.byRel[""]; !ok {
		w.Close()
		return nil, fmt.Errorf("watch: %s: not a directory or not accessible", root)
	}
	return w, nil
}

// Events delivers changes. It is closed when Run returns.
func (w *Watcher) Events() <-chan Event { return w.out }

// Close releases the inotify instance. Run calls it when it ends; calling
// it again is harmless.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() { err = w.file.Close() })
	return err
}

// Run reads kernel events and delivers them on Events until ctx ends (it
// then returns nil) or watching becomes impossible: the root was removed
// (ErrRootRemoved) or the kernel's watch limit was reached. It closes the
// inotify instance and the Events channel before returning. Run must be
// called once.
func (w *Watcher) Run(ctx context.Context) error {
	defer close(w.out)
	readerDone := make(chan error, 1)
	go func() { readerDone <- w.read() }()

	var readerErr error
	readerRunning := true
	stop := func() error {
		w.Close()
		if readerRunning {
			<-readerDone
		}
		return readerErr
	}
	for {
		e, ok := w.q.pop()
		if ok {
			select {
			case w.out <- e:
			case <-ctx.Done():
				return stop()
			}
			continue
		}
		if !readerRunning {
			return stop() // reader failed and everything it queued is delivered
		}
		select {
		case <-w.q.notify:
		case readerErr = <-readerDone:
			readerRunning = false
		case <-ctx.Done():
			return stop()
		}
	}
}

// read is the reader goroutine: it owns the watch maps while Run runs.
func (w *Watcher) read() error {
	buf := make([]byte, 64*1024)
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("watch: reading inotify events for %s: %w", w.root, err)
		}
		if err := w.handle(buf[:n]); err != nil {
			return err
		}
	}
}

// handle translates one read's worth of raw inotify events.
func (w *Watcher) handle(b []byte) error {
	for len(b) >= unix.SizeofInotifyEvent {
		raw := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(raw.Len)
		if end > len(b) {
			return fmt.Errorf("watch: %s: short inotify event", w.root)
		}
		name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:end], "\x00"))
		mask, wd, cookie := raw.Mask, raw.Wd, raw.Cookie
		b = b[end:]
		if err := w.event(wd, mask, cookie, name); err != nil {
			return err
		}
	}
	return nil
}

func (w *Watcher) event(wd int32, mask, cookie uint32, name string) error {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		// Directories created while events were lost have no watch yet.
		// Watch them before reporting Overflow, so that the consumer's
		// rescan, which the Overflow triggers, starts after every watch is
		// in place and nothing falls between the two.
		err := w.addTree("", false)
		w.q.push(Event{Op: Overflow})
		return err
	}
	dir, ok := w.wds[wd]
	if !ok {
		return nil // a watch removed earlier; its last events are stale
	}
	if mask&unix.IN_IGNORED != 0 {
		w.forget(wd)
		if dir == "" {
			w.q.push(Event{Op: Remove, IsDir: true})
			return ErrRootRemoved
		}
		return nil
	}
	if name == "" {
		return nil // about the directory itself (DELETE_SELF): its parent reports it
	}
	rel := path.Join(dir, name)
	isDir := mask&unix.IN_ISDIR != 0
	if w.opts.Ignore != nil && w.opts.Ignore(rel, isDir) {
		return nil
	}
	switch {
	case mask&unix.IN_CREATE != 0:
		w.q.push(Event{Rel: rel, Op: Create, IsDir: isDir})
		if isDir {
			return w.addTree(rel, true)
		}
	case mask&unix.IN_MOVED_TO != 0:
		e := Event{Rel: rel, Op: MoveTo, IsDir: isDir}
		if cookie != 0 && cookie == w.moveCookie {
			e.From = w.moveFrom
		}
		w.moveCookie, w.moveFrom = 0, ""
		w.q.push(e)
		if isDir {
			return w.addTree(rel, true)
		}
	case mask&unix.IN_MOVED_FROM != 0:
		w.moveCookie, w.moveFrom = cookie, rel
		w.q.push(Event{Rel: rel, Op: MoveFrom, IsDir: isDir})
		if isDir {
			w.removeTree(rel)
		}
	case mask&unix.IN_DELETE != 0:
		w.q.push(Event{Rel: rel, Op: Remove, IsDir: isDir})
		if isDir {
			w.removeTree(rel)
		}
	case mask&unix.IN_MODIFY != 0:
		w.q.push(Event{Rel: rel, Op: Write, IsDir: isDir})
	case mask&unix.IN_CLOSE_WRITE != 0:
		w.q.push(Event{Rel: rel, Op: CloseWrite, IsDir: isDir})
	case mask&unix.IN_ATTRIB != 0:
		w.q.push(Event{Rel: rel, Op: Attrib, IsDir: isDir})
	}
	return nil
}

// addTree watches the directory rel and every directory below it. With
// emit, it reports what it finds as Create events: entries made in a new
// directory before its watch existed would otherwise never be reported.
// A directory that vanished meanwhile is skipped; running out of watches is
// fatal, because from then on changes would be silently missed.
func (w *Watcher) addTree(rel string, emit bool) error {
	abs := filepath.Join(w.root, filepath.FromSlash(rel))
	wd, err := unix.InotifyAddWatch(w.fd, abs, dirMask)
	switch {
	case err == nil:
	case errors.Is(err, unix.ENOSPC):
		return fmt.Errorf("watch: adding a watch for %s: %w (raise fs.inotify.max_user_watches)", abs, err)
	case errors.Is(err, unix.ENOMEM):
		return fmt.Errorf("watch: adding a watch for %s: %w", abs, err)
	default:
		return nil // gone, replaced by a non-directory, or unreadable
	}
	if old, ok := w.wds[int32(wd)]; ok && old != rel {
		delete(w.byRel, old) // the same directory, seen under a new name
	}
	w.wds[int32(wd)] = rel
	w.byRel[rel] = int32(wd)

	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil // vanished after the watch was added: its parent reports it
	}
	for _, de := range entries {
		crel := path.Join(rel, de.Name())
		isDir := de.IsDir() // a symlink to a directory is not followed
		if w.opts.Ignore != nil && w.opts.Ignore(crel, isDir) {
			continue
		}
		if emit {
			w.q.push(Event{Rel: crel, Op: Create, IsDir: isDir})
		}
		if isDir {
			if err := w.addTree(crel, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeTree drops the watches of rel and everything below it: after a
// directory is moved out of the tree its watch would keep reporting under
// the old, wrong path.
func (w *Watcher) removeTree(rel string) {
	prefix := rel + "/"
	for r, wd := range w.byRel {
		if r == rel || len(r) > len(prefix) && r[:len(prefix)] == prefix {
			_, _ = unix.InotifyRmWatch(w.fd, uint32(wd)) // EINVAL if already gone
			delete(w.byRel, r)
			delete(w.wds, wd)
		}
	}
}

// forget drops a watch the kernel has removed.
func (w *Watcher) forget(wd int32) {
	if rel, ok := w.wds[wd]; ok {
		if w.byRel[rel] == wd {
			delete(w.byRel, rel)
		}
		delete(w.wds, wd)
	}
}
