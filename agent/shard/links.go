package shard

import (
	"slices"
	"strings"
	"sync"
)

// Group is every name of one hard-linked inode that a walk saw, and the
// shard that copies it: the shard of the smallest name. The owner copies
// Names[0] and links the others to it; every other shard leaves all of them
// alone.
type Group struct {
	// Names are relative paths in byte order, smallest first.
	Names []string
	// Owner is Of(Names[0], count).
	Owner int
}

// inode identifies a file across its names.
type inode struct{ dev, ino uint64 }

// pending is a group still waiting for names.
type pending struct {
	names []string
	nlink uint64
}

// Links groups the names of hard-linked files as a walk finds them, so
// every shard agrees on which one copies each inode without talking to the
// others. It is safe for the walk's concurrent checkers. Memory is held
// only for inodes with more than one link, and only until all their names
// are seen.
type Links struct {
	count int
	mu    sync.Mutex
	open  map[inode]*pending
}

// NewLinks returns an empty grouping for count shards.
func NewLinks(count int) *Links {
	return &Links{count: count, open: map[inode]*pending{}}
}

// Add records that the walk found rel with the lstat results dev, ino and
// nlink (Stat_t.Dev, Ino, Nlink). When it completes a group (nlink names
// seen, or nlink is 1 or less) it returns the group and true, and the
// grouping forgets the inode. Otherwise the name is held until its other
// names arrive or Rest is called after the walk. A name given twice counts
// once.
func (l *Links) Add(dev, ino, nlink uint64, rel string) (Group, bool) {
	if nlink <= 1 {
		return Group{Names: []string{rel}, Owner: Of(rel, l.count)}, true
	}
	k := inode{dev, ino}
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.open[k]
	if p == nil {
		p = &pending{nlink: nlink}
		l.open[k] = p
	}
	if slices.Contains(p.names, rel) {
		return Group{}, false
	}
	p.names = append(p.names, rel)
	if uint64(len(p.names)) < p.nlink {
		return Group{}, false
	}
	delete(l.open, k)
	return l.group(p.names), true
}

// Rest returns, after the walk, the groups some of whose names were not
// seen: they live outside the source tree, were excluded by the filter, or
// were unlinked during the walk. Each is final over the names the walk saw.
// The groups come sorted by their first name, and the grouping is empty
// afterwards.
func (l *Links) Rest() []Group {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Group, 0, len(l.open))
	for k, p := range l.open {
		out = append(out, l.group(p.names))
		delete(l.open, k)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Names[0], b.Names[0]) })
	return out
}

func (l *Links) group(names []string) Group {
	names = slices.Clone(names)
	slices.Sort(names)
	return Group{Names: names, Owner: Of(names[0], l.count)}
}
