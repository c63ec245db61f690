// Package manifest persists what efssync has seen at its sources and what it
// has published at its destinations, in one bbolt file per agent, so that a
// run only moves what changed and a crash costs at most a repeated transfer.
//
// Layout of the file (schema version 1):
//
//	meta/schema                    uvarint schema version
//	jobs/<job>/files/<rel>         MarshalRecord(Record); rel as raw bytes
//	jobs/<job>/checkpoints/<dest>\x00<rel>   opaque bytes (the sender's encoding)
//
// The agent publishes first and records afterwards (Batch.Commit), so the
// manifest never claims data a destination lacks.
package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this build writes and reads. A file
// with a higher version was written by a newer efssync and is refused rather
// than misread.
const SchemaVersion = 1

var (
	// ErrLocked means another efssync agent (or another Open in this
	// process) holds the manifest: two writers would corrupt its meaning.
	ErrLocked = errors.New("locked")
	// ErrNewerVersion means the manifest or a record was written by a newer
	// efssync than this one; downgrading would silently lose information.
	ErrNewerVersion = errors.New("written by a newer efssync")
	// ErrCorrupt means the file or a record cannot be decoded. The agent may
	// treat a corrupt record as absent (the file is transferred again).
	ErrCorrupt = errors.New("manifest corrupt")
)

var (
	bucketMeta        = []byte("meta")
	bucketJobs        = []byte("jobs")
	bucketFiles       = []byte("files")
	bucketCheckpoints = []byte("checkpoints")
	keySchema         = []byte("schema")
)

// lockTimeout bounds how long Open waits for the file lock: a second agent
// must fail at once instead of hanging behind the first.
const lockTimeout = 100 * time.Millisecond

// DB is an open manifest. It is safe for concurrent use.
type DB struct {
	path string
	bolt *bolt.DB

	closeOnce sync.Once
	closeErr  error
}

// initialMmapSize is the manifest's first mapping; see Open.
const initialMmapSize = 256 << 20

// Open opens the manifest at path exclusively, creating it (mode 0600, parent
// directory 0700) when missing. A manifest held by another opener fails at
// once with an error wrapping ErrLocked; a damaged file (either of bbolt's
// two meta pages included, see checkMetaPages) fails with an error
// wrapping ErrCorrupt; a manifest of a newer schema fails with
// ErrNewerVersion.
func Open(path string) (db *DB, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("manifest %s: create directory: %w", path, err)
	}
	// bbolt can panic (or fault) on damaged pages. Keep the file handle so a
	// panic does not leave our own lock behind.
	var file *os.File
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				_ = file.Close()
			}
			db, err = nil, fmt.Errorf("manifest %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))

	bdb, err := bolt.Open(path, 0o600, boltOptions(&file))
	if err != nil {
		return nil, openError(path, err)
	}
	// Checked under the lock bbolt now holds: no writer is mid-commit.
	if err := checkMetaPages(path); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	db = &DB{path: path, bolt: bdb}
	if err := db.initSchema(); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	return db, nil
}

// boltOptions are the options Open gives bbolt; the file bbolt opens is
// stored in *file so a panic can close it.
func boltOptions(file **os.File) *bolt.Options {
	return &bolt.Options{
		Timeout:      lockTimeout,
		FreelistType: bolt.FreelistMapType,
		// Address space only, not file size: each time a growing manifest
		// outgrows its mapping, bbolt copies every node of the open write
		// transaction to the heap and remaps. Starting at 256 MiB (about
		// 1.5 million records) saved a quarter of all allocations of a
		// first sync.
		InitialMmapSize: initialMmapSize,
		// NoFreelistSync stays false: with it, bbolt rebuilds the freelist
		// at open in a goroutine that panics unrecoverably on a damaged page.
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			*file = f
			return f, err
		},
	}
}

// openError explains a failed bolt.Open: a lock held by another agent, a
// damaged file, or another cause.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		owner := ""
		if pid := lockOwner(path); pid > 0 {
			owner = fmt.Sprintf(" (pid %d?)", pid)
		}
		return fmt.Errorf("manifest %s is in use by another efssync agent%s: %w", path, owner, ErrLocked)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		return fmt.Errorf("manifest %s: %w: %w", path, ErrCorrupt, err)
	}
	return fmt.Errorf("manifest %s: open: %w", path, err)
}

// initSchema creates the top-level buckets of a new file and refuses a file
// of a newer schema.
func (db *DB) initSchema() (err error) {
	defer db.guard(&err)
	// The common case, an existing manifest of this schema, needs no write
	// transaction (and so no fdatasync) at all.
	current := false
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || tx.Bucket(bucketJobs) == nil {
			return nil
		}
		v, n := binary.Uvarint(meta.Get(keySchema))
		current = n > 0 && v == SchemaVersion
		return nil
	})
	if current {
		return nil
	}
	return db.bolt.Update(db.writeSchema)
}

// writeSchema creates the meta bucket of a new file, checks the schema
// version of an existing one and creates the jobs bucket.
func (db *DB) writeSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		// A non-empty file without meta is a bbolt file of something else.
		if tx.Bucket(bucketJobs) != nil || !isEmpty(tx) {
			return fmt.Errorf("manifest %s: %w: not an efssync manifest (no meta bucket)", db.path, ErrCorrupt)
		}
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return fmt.Errorf("manifest %s: create meta: %w", db.path, err)
		}
		if err := meta.Put(keySchema, binary.AppendUvarint(nil, SchemaVersion)); err != nil {
			return fmt.Errorf("manifest %s: write schema version: %w", db.path, err)
		}
	}
	v, n := binary.Uvarint(meta.Get(keySchema))
	if n <= 0 {
		return fmt.Errorf("manifest %s: %w: unreadable schema version", db.path, ErrCorrupt)
	}
	if v > SchemaVersion {
		return fmt.Errorf("manifest %s: %w: schema version %d, this build reads up to %d", db.path, ErrNewerVersion, v, SchemaVersion)
	}
	// Migrations from older schemas go here when there are any.
	if _, err := tx.CreateBucketIfNotExists(bucketJobs); err != nil {
		return fmt.Errorf("manifest %s: create jobs: %w", db.path, err)
	}
	return nil
}

// isEmpty reports whether the file holds no bucket at all (a new file).
func isEmpty(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k == nil
}

// guard turns a bbolt panic (or memory fault) on a damaged page into an
// error wrapping ErrCorrupt. Use as: defer db.guard(&err) at the top of every
// method that touches bbolt, before anything else is deferred.
func (db *DB) guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("manifest %s: %w: %v", db.path, ErrCorrupt, r)
	}
}

// Close releases the file and its lock. Closing twice is harmless.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("manifest %s: close: %w", db.path, err)
		}
	})
	return db.closeErr
}

// Path is the file the manifest lives in, for messages and status output.
func (db *DB) Path() string { return db.path }

// view runs fn in a read transaction with damaged-page panics turned into
// errors.
func (db *DB) view(fn func(tx *bolt.Tx) error) (err error) {
	defer db.guard(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return db.bolt.View(fn)
}

// update is view for a write transaction.
func (db *DB) update(fn func(tx *bolt.Tx) error) (err error) {
	defer db.guard(&err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return db.bolt.Update(fn)
}
