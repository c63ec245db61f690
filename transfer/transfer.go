// Package transfer moves bytes into the places efssync replicates to. It owns
// the Destination/Upload abstraction, its implementations (a mounted file
// system and S3) and the chunk buffers they are fed from. It knows nothing of
// jobs, filters or the manifest's schema: the agent decides what to send and
// records what was published.
package transfer

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Meta is what a destination needs to know about a source file to publish it
// faithfully, and what Stat reports back so the agent can verify a copy.
type Meta struct {
	Size    int64
	Mode    fs.FileMode // permission bits and type bits (fs.ModeSymlink, fs.ModeDir)
	ModTime time.Time
	// UID and GID are applied when the agent runs as root; -1 means unknown.
	UID, GID int
	// Hash is the BLAKE3-256 of the content. It is set in Commit. In Begin
	// it is empty, unless the file was finished and hashed before its
	// upload began: s3dest then stores it with the object from the start.
	Hash []byte
	// Xattrs, when non-nil, are copied to the destination (fs only).
	Xattrs map[string][]byte
}

// Part is one acknowledged part of a multipart upload, as persisted in a
// checkpoint so a restarted agent does not send it again.
type Part struct {
	Number   int32  `json:"n"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag"`
	Checksum string `json:"crc,omitempty"`
}

// Checkpoint is the resumable state of an unfinished upload. The agent stores
// it in the manifest as returned by Upload.Checkpoint, together with the
// identity of the source it was made from, and hands it back to Begin after a
// crash; its meaning belongs to the destination that made it.
type Checkpoint struct {
	Key      string `json:"key"`
	UploadID string `json:"upload_id"`
	PartSize int64  `json:"part_size"`
	Parts    []Part `json:"parts,omitempty"`
}

// A Destination is one place files are replicated to: a mounted directory or
// an S3 bucket and prefix. Paths are slash-separated and relative to the
// destination's root; they never start with "/" and never contain "..".
type Destination interface {
	// Name identifies the destination in reports, metrics and the manifest.
	Name() string
	// Begin starts writing rel. Nothing is visible under rel until Commit.
	// resume, when non-nil, continues an upload checkpointed earlier.
	Begin(ctx context.Context, rel string, m Meta, resume *Checkpoint) (Upload, error)
	// Stat reports what is published under rel, or an error wrapping
	// fs.ErrNotExist.
	Stat(ctx context.Context, rel string) (Meta, error)
	// Remove deletes what is published under rel. Removing a missing entry
	// is not an error.
	Remove(ctx context.Context, rel string) error
}

// An Upload is one file being written to one destination.
type Upload interface {
	// Write appends p at offset off. Chunks arrive in order, starting at 0,
	// also when resuming: an upload that already holds a range discards it.
	Write(ctx context.Context, off int64, p []byte) error
	// Checkpoint returns what to persist to resume this upload, or nil when
	// the upload cannot be resumed (a local temp file, a small PutObject).
	Checkpoint() *Checkpoint
	// Commit publishes the file under its final name with final's metadata.
	Commit(ctx context.Context, final Meta) error
	// Abort discards everything written; it is safe after a failed Commit.
	Abort(ctx context.Context) error
}

// Optional abilities. A Destination implements those that make sense for it;
// the agent asks with a type assertion, as rclone does with its features.

// DirMaker creates directories (mounted file systems; S3 has none).
type DirMaker interface {
	Mkdir(ctx context.Context, rel string, m Meta) error
}

// Symlinker publishes a symbolic link as a link, not as its target's content.
type Symlinker interface {
	Symlink(ctx context.Context, rel, target string, m Meta) error
}

// Linker publishes a hard link to a file already published at the destination.
type Linker interface {
	Link(ctx context.Context, existing, rel string) error
}

// Lister enumerates what a destination holds, for mirror deletes, verification
// and cleanup. fn is called for every entry below the root, in no set order.
type Lister interface {
	List(ctx context.Context, fn func(rel string, m Meta) error) error
}

// HashFirster is a destination that fixes an object's metadata when its
// upload begins (s3dest: CreateMultipartUpload), so the hash can travel
// with the object only when Begin already has it. For a file that is
// finished before its upload starts, the agent hashes it first when
// HashFirst says the upload of a file with Meta m needs it, and passes
// the hash in Begin's Meta; a restore then finds it in the GET response.
type HashFirster interface {
	HashFirst(m Meta) bool
}

// Opener reads back published content, for `verify: all`.
type Opener interface {
	Open(ctx context.Context, rel string) (io.ReadCloser, error)
}

// Syncer makes every Commit, Mkdir, Symlink, Link and Remove since the last
// Sync durable (for a mounted file system: fsync the directories touched).
// The agent calls it before it records a batch in the manifest: publish, then
// record.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Cleaner removes leftovers of a crashed run: hidden temp files, abandoned
// multipart uploads. keep names uploads still referenced by checkpoints
// (for a mounted file system: kept part files, by path).
type Cleaner interface {
	Cleanup(ctx context.Context, keep func(uploadID string) bool) (removed int, err error)
}

// CommitVerifier marks a destination whose Commit checks what it wrote
// (the size, through the open file), so `verify: transferred` costs no
// separate Stat round trip.
type CommitVerifier interface {
	VerifiesCommit()
}

// Unwrapper is implemented by decorators so callers can reach the abilities
// of the destination they wrap.
type Unwrapper interface {
	Unwrap() Destination
}

// As finds the first destination in a decorator chain that implements T.
func As[T any](d Destination) (T, bool) {
	for d != nil {
		if t, ok := d.(T); ok {
			return t, true
		}
		u, ok := d.(Unwrapper)
		if !ok {
			break
		}
		d = u.Unwrap()
	}
	var zero T
	return zero, false
}

// Error classification, after rclone's fserrors: the retry decorator retries
// only what is retriable, and a fatal error stops the destination for the run.

type retriableError struct{ err error }

func (e retriableError) Error() string { return e.err.Error() }
func (e retriableError) Unwrap() error { return e.err }

type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// Retriable marks err as worth another try (a timeout, a reset, a 5xx).
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	return retriableError{err}
}

// Fatal marks err as one that no retry or further file will fix (access
// denied, no such bucket): the destination is given up for this run.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

// IsRetriable reports whether err, or an error it wraps, was marked Retriable.
func IsRetriable(err error) bool {
	var r retriableError
	return errors.As(err, &r)
}

// IsFatal reports whether err, or an error it wraps, was marked Fatal.
func IsFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f)
}
