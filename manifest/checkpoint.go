package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// checkpointKey joins dest and rel with NUL, which neither may contain, so
// the checkpoints of one destination sort together.
func checkpointKey(dest, rel string) ([]byte, error) {
	if dest == "" {
		return nil, errors.New("empty destination name")
	}
	if strings.IndexByte(dest, 0) >= 0 {
		return nil, fmt.Errorf("destination name %q contains NUL", dest)
	}
	if err := checkRel(rel); err != nil {
		return nil, err
	}
	k := make([]byte, 0, len(dest)+1+len(rel))
	k = append(k, dest...)
	k = append(k, 0)
	return append(k, rel...), nil
}

// PutCheckpoint stores the resumable state of an unfinished upload of rel to
// dest and commits it at once, so a crash right after a part upload does not
// send that part again. The bytes are opaque here: the sender encodes and
// decodes them. Empty data deletes the checkpoint.
func (db *DB) PutCheckpoint(job, dest, rel string, data []byte) error {
	if len(data) == 0 {
		return db.DeleteCheckpoint(job, dest, rel)
	}
	key, err := checkpointKey(dest, rel)
	if err == nil {
		err = checkJob(job)
	}
	if err != nil {
		return fmt.Errorf("manifest %s: put checkpoint: job %q: %w", db.path, job, err)
	}
	return db.update(func(tx *bolt.Tx) error {
		b, err := createJobBucket(tx, job, bucketCheckpoints)
		if err == nil {
			err = b.Put(key, data)
		}
		if err != nil {
			return fmt.Errorf("manifest %s: put checkpoint: job %q: %q/%q: %w", db.path, job, dest, rel, err)
		}
		return nil
	})
}

func checkpointsBucket(tx *bolt.Tx, job string) *bolt.Bucket {
	if jb := jobBucket(tx, job); jb != nil {
		return jb.Bucket(bucketCheckpoints)
	}
	return nil
}

// GetCheckpoint returns the checkpoint of rel at dest, or nil and no error
// when there is none.
func (db *DB) GetCheckpoint(job, dest, rel string) (data []byte, err error) {
	key, err := checkpointKey(dest, rel)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: get checkpoint: job %q: %w", db.path, job, err)
	}
	err = db.view(func(tx *bolt.Tx) error {
		b := checkpointsBucket(tx, job)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		data = bytes.Clone(v)
		return nil
	})
	return data, err
}

// DeleteCheckpoint forgets the checkpoint of rel at dest, after the upload
// was committed or aborted. A missing checkpoint is not an error.
func (db *DB) DeleteCheckpoint(job, dest, rel string) error {
	key, err := checkpointKey(dest, rel)
	if err != nil {
		return fmt.Errorf("manifest %s: delete checkpoint: job %q: %w", db.path, job, err)
	}
	return db.update(func(tx *bolt.Tx) error {
		b := checkpointsBucket(tx, job)
		if b == nil {
			return nil
		}
		if err := b.Delete(key); err != nil {
			return fmt.Errorf("manifest %s: delete checkpoint: job %q: %q/%q: %w", db.path, job, dest, rel, err)
		}
		return nil
	})
}

// Checkpoints calls fn for every checkpoint of job, ordered by destination
// then path, so the agent can resume or clean up unfinished uploads after a
// restart. fn runs outside any transaction and may delete checkpoints. A
// key without its separator stops the iteration with an error wrapping
// ErrCorrupt.
func (db *DB) Checkpoints(job string, fn func(dest, rel string, data []byte) error) error {
	type item struct {
		dest, rel string
		data      []byte
	}
	var items []item
	err := db.view(func(tx *bolt.Tx) error {
		b := checkpointsBucket(tx, job)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			dest, rel, ok := bytes.Cut(k, []byte{0})
			if !ok {
				return fmt.Errorf("manifest %s: job %q: checkpoint key %q: %w: no separator", db.path, job, k, ErrCorrupt)
			}
			items = append(items, item{string(dest), string(rel), bytes.Clone(v)})
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := fn(it.dest, it.rel, it.data); err != nil {
			return err
		}
	}
	return nil
}
