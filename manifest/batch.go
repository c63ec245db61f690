package manifest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Batch collects record puts and deletes and commits them in one bbolt
// transaction (one fsync), because a commit per file would cap the agent at a
// few hundred files per second. The agent adds an entry only after the
// destinations made the data durable: publish first, then record.
//
// A Batch is safe for concurrent use by the agent's workers.
type Batch struct {
	db  *DB
	mu  sync.Mutex
	ops []batchOp
}

type batchOp struct {
	job, rel string
	val      []byte // encoded record; nil means delete
}

// NewBatch returns an empty Batch bound to db.
func (db *DB) NewBatch() *Batch { return &Batch{db: db} }

// Put records r for rel in job, replacing what was there. The record is
// encoded now, so r may be reused by the caller after Put returns.
func (b *Batch) Put(job, rel string, r Record) {
	val := MarshalRecord(r)
	b.mu.Lock()
	b.ops = append(b.ops, batchOp{job: job, rel: rel, val: val})
	b.mu.Unlock()
}

// Delete removes the record of rel in job; a missing record is not an error.
func (b *Batch) Delete(job, rel string) {
	b.mu.Lock()
	b.ops = append(b.ops, batchOp{job: job, rel: rel})
	b.mu.Unlock()
}

// Len is the number of pending operations, for deciding when to commit.
func (b *Batch) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ops)
}

// Commit applies every pending operation in one transaction: all or none.
// Operations on the same path apply in the order they were added. On success
// the Batch is empty and reusable; on failure it keeps its operations, so the
// caller may retry. An invalid job or path (empty, containing NUL) fails the
// whole commit.
func (b *Batch) Commit() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ops) == 0 {
		return nil
	}
	for _, op := range b.ops {
		if err := errors.Join(checkJob(op.job), checkRel(op.rel)); err != nil {
			return fmt.Errorf("manifest %s: commit: job %q: %w", b.db.path, op.job, err)
		}
	}
	// bbolt inserts fastest in key order; a stable sort keeps the order of
	// operations on the same key.
	ops := slices.Clone(b.ops)
	slices.SortStableFunc(ops, func(x, y batchOp) int {
		return cmp.Or(cmp.Compare(x.job, y.job), cmp.Compare(x.rel, y.rel))
	})
	err := b.db.update(func(tx *bolt.Tx) error {
		var (
			files   *bolt.Bucket
			lastJob string
		)
		for i, op := range ops {
			if i == 0 || op.job != lastJob {
				var err error
				if files, err = createJobBucket(tx, op.job, bucketFiles); err != nil {
					return fmt.Errorf("job %q: %w", op.job, err)
				}
				// Batches arrive in walk order, mostly appending: fuller
				// pages keep a million-file manifest (and its mapped
				// pages) small.
				files.FillPercent = 0.9
				lastJob = op.job
			}
			var err error
			if op.val == nil {
				err = files.Delete([]byte(op.rel))
			} else {
				err = files.Put([]byte(op.rel), op.val)
			}
			if err != nil {
				return fmt.Errorf("job %q: %q: %w", op.job, op.rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("manifest %s: commit %d operations: %w", b.db.path, len(ops), err)
	}
	b.ops = b.ops[:0]
	return nil
}
