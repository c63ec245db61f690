package manifest

import (
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

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
