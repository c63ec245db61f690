package manifest

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"
)

// Record is what a source entry looked like when the agent last saw it and
// what it published where. The plan step compares a walked entry with its
// Record to decide, without reading the file, whether anything must move.
type Record struct {
	// Size and ModTime (nanosecond precision) are the quick check: an entry
	// whose size or mtime changed is sent again.
	Size    int64
	ModTime time.Time
	// CTime and Inode catch what size and mtime miss: a file replaced by
	// another (a rename over it) or rewritten with its mtime restored.
	CTime time.Time
	Inode uint64
	// Dev is the device of the source file system the entry was seen on.
	Dev uint64
	// Mode includes the type bits (fs.ModeDir, fs.ModeSymlink, ...).
	Mode fs.FileMode
	// Hash is the BLAKE3 digest of the content; zero for dirs and symlinks.
	Hash [32]byte
	// LinkTarget is the target of a symlink.
	LinkTarget string
	// ETag is the S3 ETag of an entry restored from an S3 source: with
	// Size and ModTime (the object's LastModified) it is what the listing
	// is compared with, so an unchanged object costs no request. Empty for
	// entries of a directory source.
	ETag string
	// Dests is what was last published at each destination. An empty list
	// decodes as nil.
	Dests Dests
}

// Dests lists what was published at each destination, sorted by name. It is
// a slice and not a map because a record names a handful of destinations
// and is decoded for every walked file of every run: a map per record was
// the largest cost of an unchanged run.
type Dests []Dest

// Dest is one destination's entry in a record.
type Dest struct {
	// Name is the destination's configured name, the key of the entry.
	Name string
	Published
}

// Get returns what was published at the destination name.
func (ds Dests) Get(name string) (Published, bool) {
	for _, d := range ds {
		if d.Name == name {
			return d.Published, true
		}
	}
	return Published{}, false
}

// Set records p as published at name, keeping the list sorted.
func (ds *Dests) Set(name string, p Published) {
	i, found := slices.BinarySearchFunc(*ds, name, func(d Dest, n string) int { return strings.Compare(d.Name, n) })
	if found {
		(*ds)[i].Published = p
		return
	}
	*ds = slices.Insert(*ds, i, Dest{Name: name, Published: p})
}

// Delete forgets the destination name.
func (ds *Dests) Delete(name string) {
	*ds = slices.DeleteFunc(*ds, func(d Dest) bool { return d.Name == name })
}

// Clone returns a copy that can be changed without touching ds.
func (ds Dests) Clone() Dests { return slices.Clone(ds) }

// Published is what the agent last made visible at one destination, so a
// destination that missed an update (it was down) is caught up later.
type Published struct {
	// Size, ModTime and Hash describe the content as published, so a
	// destination behind the source is told apart from an up-to-date one.
	Size    int64
	ModTime time.Time
	Hash    [32]byte
	// At is when it was published, for reports and checks of freshness.
	At time.Time
}

// recordVersion is the first byte of every encoded Record. Bump it when the
// layout changes and keep decoding the old layouts. Version 2 adds the ETag
// flag; a record without an ETag is still written as version 1, so
// manifests of directory sources stay readable by older builds.
const (
	recordVersion   = 2
	recordVersionV1 = 1
)

// Flag bits of an encoded record and of an encoded Published.
const (
	flagHash       = 1 << 0
	flagLinkTarget = 1 << 1
	flagETag       = 1 << 2 // version 2 only
	recordFlagsV1  = flagHash | flagLinkTarget
	recordFlags    = recordFlagsV1 | flagETag
	// flagSameHash marks a publication of exactly the record's content:
	// the usual case, stored without a second copy of the hash.
	flagSameHash   = 1 << 1
	publishedFlags = flagHash | flagSameHash
)

// minPublishedLen is the smallest encoding of one Dests entry: name length,
// flags, size, two times of two varints each. It bounds the entry count a
// bogus header can claim.
const minPublishedLen = 1 + 1 + 1 + 2 + 2

// MarshalRecord encodes r in the compact versioned binary form stored in the
// manifest. The encoding is deterministic (Dests in name order), so equal
// records encode to equal bytes.
func MarshalRecord(r Record) []byte {
	n := 1 + 5*binary.MaxVarintLen64 + 4*binary.MaxVarintLen64 + 32 + 2*binary.MaxVarintLen64 + len(r.LinkTarget) + len(r.ETag) + binary.MaxVarintLen64
	for _, d := range r.Dests {
		n += len(d.Name) + 8*binary.MaxVarintLen64 + 32
	}
	return appendRecord(make([]byte, 0, n), r)
}

func appendRecord(b []byte, r Record) []byte {
	var flags uint64
	if r.Hash != ([32]byte{}) {
		flags |= flagHash
	}
	if r.LinkTarget != "" {
		flags |= flagLinkTarget
	}
	if r.ETag != "" {
		flags |= flagETag
		b = append(b, recordVersion)
	} else {
		b = append(b, recordVersionV1)
	}
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendVarint(b, r.Size)
	b = appendTime(b, r.ModTime)
	b = appendTime(b, r.CTime)
	b = binary.AppendUvarint(b, r.Inode)
	b = binary.AppendUvarint(b, r.Dev)
	b = binary.AppendUvarint(b, uint64(r.Mode))
	if flags&flagHash != 0 {
		b = append(b, r.Hash[:]...)
	}
	if flags&flagLinkTarget != 0 {
		b = appendString(b, r.LinkTarget)
	}
	if flags&flagETag != 0 {
		b = appendString(b, r.ETag)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Dests)))
	if len(r.Dests) == 0 {
		return b
	}
	dests := r.Dests
	if !slices.IsSortedFunc(dests, func(a, b Dest) int { return strings.Compare(a.Name, b.Name) }) {
		dests = slices.SortedFunc(slices.Values(dests), func(a, b Dest) int { return strings.Compare(a.Name, b.Name) })
	}
	for _, d := range dests {
		p := d.Published
		b = appendString(b, d.Name)
		var pf uint64
		switch {
		case p.Hash != ([32]byte{}) && p.Hash == r.Hash:
			pf |= flagSameHash
		case p.Hash != ([32]byte{}):
			pf |= flagHash
		}
		b = binary.AppendUvarint(b, pf)
		b = binary.AppendVarint(b, p.Size)
		b = appendTime(b, p.ModTime)
		if pf&flagHash != 0 {
			b = append(b, p.Hash[:]...)
		}
		b = appendTime(b, p.At)
	}
	return b
}

// appendTime stores seconds since the Unix epoch and the nanoseconds within
// the second, so every time.Time from year -292e9 to 292e9 round-trips,
// including the zero Time.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// UnmarshalRecord decodes what MarshalRecord encoded. A record written by a
// newer build yields an error wrapping ErrNewerVersion; truncated or garbage
// input yields an error wrapping ErrCorrupt. It never panics, and it never
// allocates more than the input's length can justify.
func UnmarshalRecord(data []byte) (Record, error) {
	return unmarshalRecord(data, nil)
}

// unmarshalRecord is UnmarshalRecord with intern, when not nil, turning
// destination names into strings.
func unmarshalRecord(data []byte, intern func([]byte) string) (Record, error) {
	var r Record
	if len(data) == 0 {
		return r, fmt.Errorf("%w: empty record", ErrCorrupt)
	}
	v := data[0]
	if v > recordVersion {
		return r, fmt.Errorf("%w: record format %d, this build reads up to %d", ErrNewerVersion, v, recordVersion)
	}
	if v < recordVersionV1 {
		return r, fmt.Errorf("%w: unknown record format %d", ErrCorrupt, v)
	}
	allowed := uint64(recordFlags)
	if v == recordVersionV1 {
		allowed = recordFlagsV1
	}
	d := decoder{b: data[1:], intern: intern}
	flags := d.uvarint()
	if flags&^allowed != 0 {
		d.fail("unknown record flags %#x", flags)
	}
	r.Size = d.varint()
	r.ModTime = d.time()
	r.CTime = d.time()
	r.Inode = d.uvarint()
	r.Dev = d.uvarint()
	mode := d.uvarint()
	if mode > math.MaxUint32 {
		d.fail("mode %#x out of range", mode)
	}
	r.Mode = fs.FileMode(mode)
	if flags&flagHash != 0 {
		d.hash(&r.Hash)
	}
	if flags&flagLinkTarget != 0 {
		r.LinkTarget = d.string()
	}
	if flags&flagETag != 0 {
		r.ETag = d.string()
	}
	n := d.uvarint()
	if n > uint64(len(d.b)/minPublishedLen) {
		d.fail("%d destinations cannot fit in %d bytes", n, len(d.b))
	}
	if n > 0 && d.err == nil {
		r.Dests = make(Dests, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			name := d.name()
			var p Published
			pf := d.uvarint()
			if pf&^publishedFlags != 0 {
				d.fail("unknown destination flags %#x", pf)
			}
			p.Size = d.varint()
			p.ModTime = d.time()
			if pf&flagHash != 0 && pf&flagSameHash != 0 {
				d.fail("destination flags %#x claim two hashes", pf)
			}
			if pf&flagHash != 0 {
				d.hash(&p.Hash)
			}
			if pf&flagSameHash != 0 {
				p.Hash = r.Hash
			}
			p.At = d.time()
			if k := len(r.Dests); k > 0 && r.Dests[k-1].Name >= name && d.err == nil {
				d.fail("destination %q listed twice or out of order", name)
			}
			r.Dests = append(r.Dests, Dest{Name: name, Published: p})
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return Record{}, d.err
	}
	return r, nil
}

// decoder reads fields in order and remembers the first error, after which
// every read returns a zero value: callers check once at the end.
type decoder struct {
	b      []byte
	err    error
	intern func([]byte) string
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.fail("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) hash(h *[32]byte) {
	if d.err != nil {
		return
	}
	if len(d.b) < len(h) {
		d.fail("truncated hash")
		return
	}
	copy(h[:], d.b)
	d.b = d.b[len(h):]
}

func (d *decoder) string() string {
	b := d.bytes()
	if b == nil {
		return ""
	}
	return string(b)
}

// name is a destination name, interned when the decoder can.
func (d *decoder) name() string {
	b := d.bytes()
	if b == nil || d.intern == nil {
		return string(b)
	}
	return d.intern(b)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("string of %d bytes in %d remaining", n, len(d.b))
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}
