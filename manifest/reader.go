package manifest

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

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
