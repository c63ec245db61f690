package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

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
		var err error
		if items, err = db.readChunk(job, after, items[:0]); err != nil {
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

// readChunk appends to items up to walkChunk records of job that follow
// the key after (from the first when after is nil), in one read
// transaction.
func (db *DB) readChunk(job string, after []byte, items []walkItem) ([]walkItem, error) {
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
	return items, err
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
			return db.checkJobData(job, jobs.Bucket(job))
		})
	})
}

// checkJobData decodes every record and checkpoint of one job's bucket.
func (db *DB) checkJobData(job []byte, jb *bolt.Bucket) error {
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
}
