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
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
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
// once with an error wrapping ErrLocked; a damaged file fails with an error
// wrapping ErrCorrupt; a manifest of a newer schema fails with
// ErrNewerVersion.
func Open(path string) (db *DB, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("manifest %s: create directory: %w", path, err)
	}
	// bbolt can panic (or fault) on damaged pages. Keep the file handle so a
	// panic does not leave our own lock behind.
	var file *os.File
	opts := &bolt.Options{
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
			file = f
			return f, err
		},
	}
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				_ = file.Close()
			}
			db, err = nil, fmt.Errorf("manifest %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))

	bdb, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			owner := ""
			if pid := lockOwner(path); pid > 0 {
				owner = fmt.Sprintf(" (pid %d?)", pid)
			}
			return nil, fmt.Errorf("manifest %s is in use by another efssync agent%s: %w", path, owner, ErrLocked)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
			errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
			return nil, fmt.Errorf("manifest %s: %w: %w", path, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("manifest %s: open: %w", path, err)
	}
	db = &DB{path: path, bolt: bdb}
	if err := db.initSchema(); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	return db, nil
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
	return db.bolt.Update(func(tx *bolt.Tx) error {
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
	})
}

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

// jobBucket returns the job's bucket, or nil when the job has no data.
func jobBucket(tx *bolt.Tx, job string) *bolt.Bucket {
	jobs := tx.Bucket(bucketJobs)
	if jobs == nil {
		return nil
	}
	return jobs.Bucket([]byte(job))
}

func filesBucket(tx *bolt.Tx, job string) *bolt.Bucket {
	if jb := jobBucket(tx, job); jb != nil {
		return jb.Bucket(bucketFiles)
	}
	return nil
}

// createJobBucket returns the job's sub-bucket name (files or checkpoints),
// creating it and the job's bucket when missing.
func createJobBucket(tx *bolt.Tx, job string, name []byte) (*bolt.Bucket, error) {
	jobs, err := tx.CreateBucketIfNotExists(bucketJobs)
	if err != nil {
		return nil, err
	}
	jb, err := jobs.CreateBucketIfNotExists([]byte(job))
	if err != nil {
		return nil, err
	}
	return jb.CreateBucketIfNotExists(name)
}

// checkJob rejects job names bbolt cannot store.
func checkJob(job string) error {
	if job == "" {
		return errors.New("empty job name")
	}
	return nil
}

// checkRel rejects relative paths that cannot be keys: empty (bbolt needs a
// key), containing NUL (reserved as the checkpoint key separator), or longer
// than bbolt's key limit.
func checkRel(rel string) error {
	switch {
	case rel == "":
		return errors.New("empty relative path")
	case strings.IndexByte(rel, 0) >= 0:
		return fmt.Errorf("relative path %q contains NUL", rel)
	case len(rel) > bolt.MaxKeySize-256:
		return fmt.Errorf("relative path of %d bytes is too long", len(rel))
	}
	return nil
}

// Get returns the record of rel in job; ok is false when there is none. A
// record that cannot be decoded yields an error wrapping ErrCorrupt.
func (db *DB) Get(job, rel string) (r Record, ok bool, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		r, ok, err = getRecord(db.path, filesBucket(tx, job), job, rel)
		return err
	})
	return r, ok, err
}

func getRecord(path string, files *bolt.Bucket, job, rel string) (Record, bool, error) {
	if files == nil {
		return Record{}, false, nil
	}
	v := files.Get([]byte(rel))
	if v == nil {
		return Record{}, false, nil
	}
	r, err := UnmarshalRecord(v)
	if err != nil {
		return Record{}, false, fmt.Errorf("manifest %s: job %q: record %q: %w", path, job, rel, err)
	}
	return r, true, nil
}

// Reader looks up many records in one read transaction, cheaper than one Get
// per walked file. It is valid only inside the View callback.
//
// A walk asks for a directory's entries in name order, which is also the
// records' key order, so the Reader keeps a cursor and, when the next key
// asked for lies after the previous one, steps to it instead of searching
// the tree from its root again. Destination names, the same few in every
// record, are decoded into shared strings.
type Reader struct {
	path  string
	job   string
	files *bolt.Bucket
	c     *bolt.Cursor
	last  string // the previous rel asked for
	k, v  []byte // the cursor's position: the first key >= last, or nil at the end
	names []string
	// internFn is intern as a func value, made once: a method value made per
	// call would be allocated per record.
	internFn func([]byte) string
}

// Get is DB.Get within the View's transaction.
func (r *Reader) Get(rel string) (rec Record, ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, ok, err = Record{}, false, fmt.Errorf("manifest %s: job %q: record %q: %w: %v", r.path, r.job, rel, ErrCorrupt, p)
		}
	}()
	if r.files == nil {
		return Record{}, false, nil
	}
	v, found := r.seek(rel)
	if !found {
		return Record{}, false, nil
	}
	if r.internFn == nil {
		r.internFn = r.intern
	}
	rec, err = unmarshalRecord(v, r.internFn)
	if err != nil {
		return Record{}, false, fmt.Errorf("manifest %s: job %q: record %q: %w", r.path, r.job, rel, err)
	}
	return rec, true, nil
}

// seek moves the cursor to rel and returns its value if it exists.
func (r *Reader) seek(rel string) ([]byte, bool) {
	switch {
	case r.c == nil || rel <= r.last:
		if r.c == nil {
			r.c = r.files.Cursor()
		}
		r.k, r.v = r.c.Seek([]byte(rel))
	case r.k == nil || string(r.k) >= rel:
		// No key lies between the previous rel and the cursor.
	default:
		r.k, r.v = r.c.Next()
		if r.k != nil && string(r.k) < rel {
			r.k, r.v = r.c.Seek([]byte(rel))
		}
	}
	r.last = rel
	return r.v, r.k != nil && string(r.k) == rel
}

// intern returns b as a string, shared with earlier records' equal names.
func (r *Reader) intern(b []byte) string {
	for _, s := range r.names {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	if len(r.names) < 16 {
		r.names = append(r.names, s)
	}
	return s
}

// View calls fn with a Reader over job's records in one read transaction.
// fn must not commit to the same DB (a Batch, PutCheckpoint): a writer that
// must grow the file waits for open read transactions, and would wait for
// itself. Keep fn short; a long read transaction also keeps freed pages from
// being reused.
func (db *DB) View(job string, fn func(r *Reader) error) error {
	// A panic in fn is the caller's bug, not a damaged page: let it through
	// (after the transaction ended) instead of reporting ErrCorrupt.
	var (
		callerPanic any
		panicked    bool
	)
	err := db.view(func(tx *bolt.Tx) error {
		files := filesBucket(tx, job)
		defer func() {
			if p := recover(); p != nil {
				callerPanic, panicked = p, true
			}
		}()
		return fn(&Reader{path: db.path, job: job, files: files})
	})
	if panicked {
		panic(callerPanic)
	}
	return err
}

// walkChunk is how many records Walk reads per read transaction.
const walkChunk = 1024

type walkItem struct {
	rel string
	rec Record
}

// Walk calls fn for every record of job in key (byte) order. It streams: it
// reads the records in chunks, each in its own short read transaction, and
// calls fn outside any transaction, so fn may commit batches (for example
// deletes of vanished files). Records committed during the walk may or may
// not be visited. A record that cannot be decoded stops the walk with an
// error wrapping ErrCorrupt. An error from fn stops the walk and is returned.
func (db *DB) Walk(job string, fn func(rel string, r Record) error) error {
	var after []byte
	items := make([]walkItem, 0, walkChunk)
	for {
		items = items[:0]
		err := db.view(func(tx *bolt.Tx) error {
			files := filesBucket(tx, job)
			if files == nil {
				return nil
			}
			c := files.Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
			for ; k != nil && len(items) < walkChunk; k, v = c.Next() {
				rec, err := UnmarshalRecord(v)
				if err != nil {
					return fmt.Errorf("manifest %s: job %q: record %q: %w", db.path, job, k, err)
				}
				items = append(items, walkItem{rel: string(k), rec: rec})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := fn(it.rel, it.rec); err != nil {
				return err
			}
		}
		if len(items) < walkChunk {
			return nil
		}
		after = []byte(items[len(items)-1].rel)
	}
}

// Count returns how many records job has, for status output and reports.
// It reads every page of the job (milliseconds at a million records), so
// call it per run, not per file.
func (db *DB) Count(job string) (n int, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		if files := filesBucket(tx, job); files != nil {
			n = files.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// Jobs returns the names of the jobs that have data in the manifest, so the
// agent can notice (and DeleteJob) jobs no longer configured.
func (db *DB) Jobs() (names []string, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		if jobs == nil {
			return nil
		}
		return jobs.ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	return names, err
}

// DeleteJob removes every record and checkpoint of job. Removing a job with
// no data is not an error.
func (db *DB) DeleteJob(job string) error {
	return db.update(func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		if jobs == nil || jobs.Bucket([]byte(job)) == nil {
			return nil
		}
		if err := jobs.DeleteBucket([]byte(job)); err != nil {
			return fmt.Errorf("manifest %s: delete job %q: %w", db.path, job, err)
		}
		return nil
	})
}

// Check reads every record and checkpoint of every job, for an explicit
// consistency check (it reads the whole file; Open does not). It returns the
// first problem found, wrapped in ErrCorrupt. It does not use bbolt's own
// Tx.Check, which runs in a goroutine whose panic on a damaged page would
// kill the process.
func (db *DB) Check() error {
	return db.view(func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		if jobs == nil {
			return nil
		}
		return jobs.ForEachBucket(func(job []byte) error {
			jb := jobs.Bucket(job)
			if files := jb.Bucket(bucketFiles); files != nil {
				err := files.ForEach(func(k, v []byte) error {
					if _, err := UnmarshalRecord(v); err != nil {
						return fmt.Errorf("manifest %s: job %q: record %q: %w", db.path, job, k, err)
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			if cps := jb.Bucket(bucketCheckpoints); cps != nil {
				return cps.ForEach(func(k, v []byte) error {
					if !bytes.Contains(k, []byte{0}) || !json.Valid(v) {
						return fmt.Errorf("manifest %s: job %q: checkpoint %q: %w", db.path, job, k, ErrCorrupt)
					}
					return nil
				})
			}
			return nil
		})
	})
}
