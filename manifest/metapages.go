package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt keeps two meta pages, the first two pages of the file, and writes
// them in turn. On open it uses the newest one that validates and ignores
// a damaged one without a word: the manifest silently goes back one
// commit, and the records of that commit (deletes at destinations
// included) are forgotten while the destinations reflect them, so the
// manifest may claim files a destination no longer holds. A meta page is
// 64 bytes inside one sector, written and fsynced alone, so a crash does
// not tear it; a damaged one means the file was damaged. checkMetaPages
// refuses such a file instead.

// Layout of a bbolt meta page (bbolt's internal/common): a 16-byte page
// header, then magic, version, page size and flags (4 bytes each), the
// root bucket (16), freelist, high-water page and txid (8 each), and the
// FNV-64a of all that as the checksum.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	metaOffset      = 16 // page header
	metaChecksumOff = 56 // within the meta struct
	metaLen         = 64
)

// checkMetaPages reads both meta pages of the bbolt file at path and
// returns an error wrapping ErrCorrupt that names the file, the page and
// the cause when either is damaged. A file whose pages both fail is left
// to bbolt, which refuses it.
func checkMetaPages(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("manifest %s: check meta pages: %w", path, err)
	}
	defer f.Close()
	first := make([]byte, metaOffset+metaLen)
	if _, err := io.ReadFull(f, first); err != nil {
		return fmt.Errorf("manifest %s: %w: meta page 0: %w", path, ErrCorrupt, err)
	}
	err0 := validMeta(first[metaOffset:])
	// The second page starts one page size in; a damaged first page
	// cannot be trusted for it, so try the sizes bbolt uses.
	sizes := []int{os.Getpagesize(), 4096, 16384, 65536}
	if err0 == nil {
		sizes = []int{int(binary.NativeEndian.Uint32(first[metaOffset+8:]))}
	}
	var err1 error
	for _, ps := range sizes {
		second := make([]byte, metaLen)
		if _, err := f.ReadAt(second, int64(ps+metaOffset)); err != nil {
			err1 = err
			continue
		}
		if err1 = validMeta(second); err1 == nil {
			break
		}
	}
	switch {
	case err0 != nil && err1 != nil:
		return nil // bbolt reports it
	case err0 != nil:
		return fmt.Errorf("manifest %s: %w: meta page 0 of 2 is damaged (%w); the file may have lost its last commit", path, ErrCorrupt, err0)
	case err1 != nil:
		return fmt.Errorf("manifest %s: %w: meta page 1 of 2 is damaged (%w); the file may have lost its last commit", path, ErrCorrupt, err1)
	}
	return nil
}

var (
	errBadMagic    = errors.New("not a bbolt meta page (bad magic)")
	errBadVersion  = errors.New("unknown bbolt format version")
	errBadChecksum = errors.New("checksum mismatch")
)

// validMeta checks one meta struct as bbolt does: magic, version, checksum.
func validMeta(m []byte) error {
	switch {
	case binary.NativeEndian.Uint32(m) != boltMagic:
		return errBadMagic
	case binary.NativeEndian.Uint32(m[4:]) != boltVersion:
		return errBadVersion
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumOff])
	if h.Sum64() != binary.NativeEndian.Uint64(m[metaChecksumOff:]) {
		return errBadChecksum
	}
	return nil
}
