// Package watch reports changes under a directory tree as they happen, so
// watch mode ships a new HLS segment while the encoder is still writing it
// instead of waiting for the next full rescan. It watches every directory
// recursively (inotify watches are per directory), adds watches for new
// directories as they appear, and coalesces bursts of identical events while
// the consumer is busy, so a fast writer cannot grow memory without bound:
// past a limit the pending events collapse into one Overflow, after which
// the consumer rescans.
package watch

import (
	"errors"
	"strings"
	"sync"
)

// Op is the kind of change an Event reports.
type Op uint32

// The operations. They mirror inotify's because the agent needs the
// distinctions inotify makes: CloseWrite means a writer finished, MoveTo
// means a complete file was renamed into place.
const (
	// Create: a file or directory appeared (created, or found while scanning
	// a newly watched directory).
	Create Op = 1 << iota
	// Write: a file's content changed (IN_MODIFY).
	Write
	// CloseWrite: a writer closed the file (IN_CLOSE_WRITE); it is finished
	// unless someone reopens it.
	CloseWrite
	// Remove: a file or directory was deleted.
	Remove
	// MoveFrom: a file or directory was renamed away from Rel (to outside
	// the tree, or to Event.From's counterpart); treat as removed.
	MoveFrom
	// MoveTo: a file or directory was renamed to Rel; for a file, its
	// content is complete (the usual write-temp-then-rename pattern).
	MoveTo
	// Attrib: metadata (mode, owner, times, xattrs) changed.
	Attrib
	// Overflow: events were lost (kernel queue overflow or too many pending
	// events). Rel is empty. The consumer must rescan the whole tree.
	Overflow
)

// String names the operation for logs.
func (o Op) String() string {
	names := []string{"Create", "Write", "CloseWrite", "Remove", "MoveFrom", "MoveTo", "Attrib", "Overflow"}
	var parts []string
	for i, n := range names {
		if o&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "None"
	}
	return strings.Join(parts, "|")
}

// Event is one change under the root.
type Event struct {
	// Rel is the slash-separated path relative to the root; "" is the root.
	Rel string
	Op  Op
	// IsDir is true when Rel is a directory.
	IsDir bool
	// From, for a MoveTo, is the old path when the rename happened within
	// the tree and the matching MoveFrom was seen; otherwise "".
	From string
}

// ErrRootRemoved is returned by Run when the watched root itself was
// deleted or unmounted; nothing further can be reported.
var ErrRootRemoved = errors.New("watch: root directory removed")

// Options configures a Watcher.
type Options struct {
	// Ignore, when non-nil, excludes paths: an ignored directory is not
	// watched (nor anything under it) and no events are reported for an
	// ignored path. Called from the watcher's goroutine only.
	Ignore func(rel string, isDir bool) bool
	// Buffer is the capacity of the Events channel. Default 64.
	Buffer int
	// MaxPending bounds events queued while the consumer is busy; beyond it
	// they are dropped and replaced by one Overflow. Default 65536.
	MaxPending int
}

// queue holds events between the kernel reader and the consumer. It merges
// an event into the previous pending event for the same path when both are
// the same repeatable operation (a writer's many IN_MODIFYs become one
// Write), which keeps latency at zero when the consumer keeps up and bounds
// memory when it does not.
type queue struct {
	mu     sync.Mutex
	items  []Event
	head   uint64            // sequence number of items[0]
	last   map[string]uint64 // rel -> sequence number of its last pending event
	max    int
	notify chan struct{} // capacity 1: "something was pushed"
}

func newQueue(max int) *queue {
	return &queue{last: make(map[string]uint64), max: max, notify: make(chan struct{}, 1)}
}

// coalescable ops carry no information when repeated back to back.
const coalescable = Create | Write | CloseWrite | Attrib

func (q *queue) push(e Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.signal()
	if e.Op == Overflow || len(q.items) >= q.max {
		q.reset()
		q.items = append(q.items, Event{Op: Overflow})
		return
	}
	if seq, ok := q.last[e.Rel]; ok && seq >= q.head {
		prev := q.items[seq-q.head]
		if prev.Op == e.Op && prev.IsDir == e.IsDir && e.Op&coalescable != 0 {
			return
		}
	}
	q.items = append(q.items, e)
	q.last[e.Rel] = q.head + uint64(len(q.items)) - 1
}

func (q *queue) reset() {
	q.head += uint64(len(q.items))
	q.items = nil
	clear(q.last)
}

func (q *queue) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// pop removes the oldest pending event.
func (q *queue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Event{}, false
	}
	e := q.items[0]
	q.items[0] = Event{}
	q.items = q.items[1:]
	if q.last[e.Rel] == q.head {
		delete(q.last, e.Rel)
	}
	q.head++
	if len(q.items) == 0 {
		q.items = nil
	}
	return e, true
}
