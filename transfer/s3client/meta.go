package s3client

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/efssync/efssync/transfer"
)

// Names of the metadata entries (x-amz-meta-NAME) efssync writes with an
// object, and reads back on Stat and on a restore's GET.
const (
	MetaHash  = "blake3"
	MetaMtime = "mtime"
	MetaMode  = "mode"
	// MetaUID and MetaGID are the owner's numeric IDs, so a restore run as
	// root gives files back their owner as an fs-to-fs copy does.
	MetaUID = "uid"
	MetaGID = "gid"
	// MetaType marks an object that stands for something other than a
	// regular file: TypeSymlink (the body is the link's target, as
	// restic keeps a link's target in its metadata rather than its
	// content) or TypeDir (a "dir/" marker holding an empty directory's
	// metadata). Absent for regular files.
	MetaType = "type"
	// TagPrefix starts the tags (efssync-blake3, -mtime, -mode) that
	// carry the same entries for an upload begun before its hash was known.
	TagPrefix = "efssync-"
)

// Values of MetaType.
const (
	TypeSymlink = "symlink"
	TypeDir     = "dir"
)

// EncodeMeta renders the efssync metadata of m (user metadata or tags), so
// a later Stat or restore can give back the source's mtime, mode and
// BLAKE3. The hash is left out when unknown or withHash is false.
func EncodeMeta(m transfer.Meta, withHash bool) map[string]string {
	v := map[string]string{MetaMode: strconv.FormatUint(uint64(unixMode(m.Mode)), 8)}
	switch {
	case m.Mode&fs.ModeSymlink != 0:
		v[MetaType] = TypeSymlink
	case m.Mode.IsDir():
		v[MetaType] = TypeDir
	}
	if !m.ModTime.IsZero() {
		v[MetaMtime] = m.ModTime.UTC().Format(time.RFC3339Nano)
	}
	if withHash && len(m.Hash) > 0 {
		v[MetaHash] = fmt.Sprintf("%x", m.Hash)
	}
	if m.UID >= 0 && m.GID >= 0 {
		v[MetaUID] = strconv.Itoa(m.UID)
		v[MetaGID] = strconv.Itoa(m.GID)
	}
	return v
}

// EncodeTags renders the entries that follow an upload begun before its
// hash was known, as tags: the owner is left out, as it is in the
// metadata set at the start, and S3 allows only 10 tags per object.
func EncodeTags(m transfer.Meta) map[string]string {
	v := EncodeMeta(m, true)
	delete(v, MetaUID)
	delete(v, MetaGID)
	return v
}

// DecodeMeta parses what EncodeMeta wrote (keys in lower case) into m,
// leaving fields whose entry is absent untouched; a malformed entry is an
// error naming it.
func DecodeMeta(vals map[string]string, m *transfer.Meta) error {
	if s := vals[MetaMtime]; s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("bad %s %q: %w", MetaMtime, s, err)
		}
		m.ModTime = t
	}
	if s := vals[MetaMode]; s != "" {
		n, err := strconv.ParseUint(s, 8, 32)
		if err != nil {
			return fmt.Errorf("bad %s %q: %w", MetaMode, s, err)
		}
		m.Mode = m.Mode.Type() | fromUnixMode(uint32(n))
	}
	switch t := vals[MetaType]; t {
	case "":
	case TypeSymlink:
		m.Mode = m.Mode&^fs.ModeType | fs.ModeSymlink
	case TypeDir:
		m.Mode = m.Mode&^fs.ModeType | fs.ModeDir
	default:
		return fmt.Errorf("bad %s %q: want %q or %q", MetaType, t, TypeSymlink, TypeDir)
	}
	if err := decodeOwner(vals, m); err != nil {
		return err
	}
	if s := vals[MetaHash]; s != "" {
		var h []byte
		if _, err := fmt.Sscanf(s, "%x", &h); err != nil {
			return fmt.Errorf("bad %s %q: %w", MetaHash, s, err)
		}
		m.Hash = h
	}
	return nil
}

// unixMode maps Go's mode bits to the octal a user expects to read (0644,
// 4755): permission bits plus setuid, setgid and sticky.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

func fromUnixMode(u uint32) fs.FileMode {
	m := fs.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// decodeOwner reads the owner's IDs, both or neither.
func decodeOwner(vals map[string]string, m *transfer.Meta) error {
	us, gs := vals[MetaUID], vals[MetaGID]
	if us == "" && gs == "" {
		return nil
	}
	uid, err1 := strconv.ParseUint(us, 10, 31)
	gid, err2 := strconv.ParseUint(gs, 10, 31)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad %s %q and %s %q: want two numeric IDs", MetaUID, us, MetaGID, gs)
	}
	m.UID, m.GID = int(uid), int(gid)
	return nil
}

// MaxTarget is the longest symlink target Linux accepts (PATH_MAX without
// its NUL), and so the longest body of a symlink object.
const MaxTarget = 4095

// ReadTarget reads the body of the symlink object key (metadata type
// symlink) as the link's target, refusing one no file system would take:
// empty, longer than MaxTarget, or holding a NUL byte.
func ReadTarget(key string, body io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(body, MaxTarget+1))
	if err != nil {
		return "", fmt.Errorf("s3 key %q: read symlink target: %w", key, err)
	}
	if len(b) == 0 || len(b) > MaxTarget {
		return "", fmt.Errorf("s3 key %q: symlink target of %d bytes: want 1 to %d", key, len(b), MaxTarget)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return "", fmt.Errorf("s3 key %q: symlink target contains a NUL byte", key)
	}
	return string(b), nil
}
