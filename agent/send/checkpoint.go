package send

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/efssync/efssync/transfer"
)

// Identity names one version of a source file. A checkpoint carries the
// identity of the source it was made from, and only that source resumes it.
type Identity struct {
	Dev   uint64    `json:"dev"`
	Ino   uint64    `json:"ino"`
	Size  int64     `json:"size"`
	MTime time.Time `json:"mtime"`
}

// Checkpoints is where the sender keeps the resumable state of unfinished
// uploads: the agent's manifest, or nothing in a dry run. The bytes are
// opaque to the store.
type Checkpoints interface {
	Load(dest, rel string) ([]byte, error)
	Save(dest, rel string, data []byte) error
	Delete(dest, rel string) error
	// Warn reports a checkpoint that could not be stored or forgotten: the
	// copy goes on, a crash will just cost more.
	Warn(err error)
}

// saved is a checkpoint as stored: the destination's upload state and the
// source it belongs to.
type saved struct {
	Source  Identity             `json:"source"`
	Growing bool                 `json:"growing,omitempty"`
	Upload  *transfer.Checkpoint `json:"upload"`
}

// EncodeCheckpoint is the stored form of cp, made from the source id.
func EncodeCheckpoint(id Identity, growing bool, cp *transfer.Checkpoint) ([]byte, error) {
	return json.Marshal(saved{Source: id, Growing: growing, Upload: cp})
}

// DecodeCheckpoint returns a stored checkpoint's upload state and the
// identity of its source.
func DecodeCheckpoint(data []byte) (*transfer.Checkpoint, Identity, error) {
	var s saved
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, Identity{}, fmt.Errorf("decode upload checkpoint: %w", err)
	}
	if s.Upload == nil {
		return nil, Identity{}, fmt.Errorf("decode upload checkpoint: no upload state")
	}
	return s.Upload, s.Source, nil
}

// Stale reports whether a checkpoint made from id can no longer be resumed
// by a source that now looks like now (same inode, and for a finished file
// the same size and mtime; a growing file may only have grown).
func Stale(data []byte, now Identity) bool {
	var s saved
	if json.Unmarshal(data, &s) != nil || s.Upload == nil {
		return true
	}
	return !sameSource(s, now)
}

func sameSource(s saved, now Identity) bool {
	if s.Source.Dev != now.Dev || s.Source.Ino != now.Ino {
		return false
	}
	if s.Growing {
		return now.Size >= covered(s.Upload)
	}
	return s.Source.Size == now.Size && s.Source.MTime.Equal(now.MTime)
}

// covered is how many bytes from the start the checkpointed parts hold.
func covered(cp *transfer.Checkpoint) int64 {
	var n int64
	for _, p := range cp.Parts {
		n = max(n, int64(p.Number)*cp.PartSize)
	}
	return n
}

// resumable returns the checkpoint to continue rel's upload from, or nil.
// A checkpoint of another source is aborted at the destination and
// forgotten. A growing file's parts are confirmed against the source's
// bytes (CRC32C, as S3 stored them) when the source can be read at an
// offset: the same inode may have been rewritten while the agent was down.
func (u *upload) resumable(ctx context.Context, m transfer.Meta, src Source) *transfer.Checkpoint {
	cs := u.s.opts.Checkpoints
	if cs == nil || !u.grow && m.Size < u.s.opts.MinResumable {
		return nil
	}
	d := u.dest()
	data, err := cs.Load(d.Name, u.rel)
	if err != nil || data == nil {
		return nil
	}
	var s saved
	ok := json.Unmarshal(data, &s) == nil && s.Upload != nil && sameSource(s, u.id)
	if ok && s.Growing {
		ra, can := src.(io.ReaderAt)
		ok = can && partsMatch(ra, s.Upload)
	}
	if ok {
		u.parts, u.saved = len(s.Upload.Parts), true
		return s.Upload
	}
	if s.Upload != nil {
		if old, err := d.D.Begin(ctx, u.rel, m, s.Upload); err == nil {
			_ = old.Abort(ctx)
		}
	}
	if err := cs.Delete(d.Name, u.rel); err != nil {
		cs.Warn(fmt.Errorf("%s: forget stale checkpoint of %s: %w", d.Name, u.rel, err))
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// partsMatch reports whether every checkpointed part holds what the source
// holds at its offset now.
func partsMatch(ra io.ReaderAt, cp *transfer.Checkpoint) bool {
	buf := make([]byte, cp.PartSize)
	for _, p := range cp.Parts {
		if p.Checksum == "" || p.Size > cp.PartSize {
			return false
		}
		b := buf[:p.Size]
		if _, err := ra.ReadAt(b, int64(p.Number-1)*cp.PartSize); err != nil {
			return false
		}
		var sum [4]byte
		binary.BigEndian.PutUint32(sum[:], crc32.Checksum(b, castagnoli))
		if base64.StdEncoding.EncodeToString(sum[:]) != p.Checksum {
			return false
		}
	}
	return true
}

// Checkpoints returns the store of resumable state the sender was given,
// so a source that resumes too (a restore's object reads) keeps its own
// state beside the destinations'; ok is false when none is kept (dry run).
func (s *Sender) Checkpoints() (cs Checkpoints, ok bool) {
	return s.opts.Checkpoints, s.opts.Checkpoints != nil
}
