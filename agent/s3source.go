package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer/s3client"
	"github.com/efssync/efssync/transfer/s3src"
)

// ErrHashMismatch marks a restored object whose bytes do not hash to the
// BLAKE3 efssync stored with it when it archived the file: nothing is
// published.
var ErrHashMismatch = errors.New("BLAKE3 of the bytes read differs from the one stored with the object")

// openS3Source builds the restore source of a job whose source is S3.
func openS3Source(ctx context.Context, job config.Job) (*s3src.Source, error) {
	f := job.From
	src, err := s3src.New(ctx, s3src.Options{
		Bucket: f.Bucket, Prefix: f.Prefix, AsOf: f.AsOfTime(),
		PartSize: int64(f.PartSize), PartConcurrency: f.PartConcurrency,
		ListConcurrency: job.Checkers, Concurrency: job.Concurrency,
		Client: s3client.Options{Region: f.Region, Endpoint: f.Endpoint, PathStyle: f.PathStyle},
	})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", f, err)
	}
	return src, nil
}

// objectSource is one S3 object as the sender's source: the Reader's
// chunks, fetched ahead in parallel, handed out in order. It confirms the
// bytes read against the object's size and stored BLAKE3.
type objectSource struct {
	rd   *s3src.Reader
	key  string
	size int64
	want []byte // BLAKE3 stored with the object; nil when it has none
	id   send.Identity
	cur  s3src.Chunk
	pos  int // bytes of cur already handed out
	held bool
	// prefix, on a resume, holds the first prefixLeft bytes still to be
	// read from the kept temp file (re-read so BLAKE3 covers them too).
	prefix     *os.File
	prefixLeft int64
	prefixBuf  []byte // NextChunk's buffer for them
}

func newObjectSource(rd *s3src.Reader, obj s3src.Object, want []byte) *objectSource {
	id := objectIdentity(obj)
	id.MTime = rd.Meta().ModTime
	return &objectSource{rd: rd, key: obj.Key, size: obj.Size, want: want, id: id}
}

// objectIdentity names an object version for the sender's checkpoints:
// its ETag and version id, folded into Ino, and its size.
func objectIdentity(obj s3src.Object) send.Identity {
	h := fnv.New64a()
	_, _ = io.WriteString(h, obj.ETag+"\x00"+obj.VersionID)
	return send.Identity{Ino: h.Sum64(), Size: obj.Size}
}

// Read implements send.Source.
func (s *objectSource) Read(ctx context.Context, p []byte) (int, error) {
	if s.prefixLeft > 0 {
		k, err := s.prefix.Read(p[:min(int64(len(p)), s.prefixLeft)])
		s.prefixLeft -= int64(k)
		if err == io.EOF {
			err = fmt.Errorf("kept temp file %s ends %d bytes early: %w", s.prefix.Name(), s.prefixLeft, io.ErrUnexpectedEOF)
		}
		return k, err
	}
	n := 0
	for n < len(p) {
		if !s.held {
			c, err := s.rd.Next(ctx)
			if err != nil {
				return n, err
			}
			s.cur, s.pos, s.held = c, 0, true
		}
		k := copy(p[n:], s.cur.Data[s.pos:])
		n += k
		s.pos += k
		if s.pos == len(s.cur.Data) {
			s.cur.Release()
			s.held = false
		}
	}
	return n, nil
}

// prefixChunk bounds one read of a resumed object's kept bytes.
const prefixChunk = 4 << 20

// NextChunk implements send.ChunkSource: the Reader's fetched parts are
// handed to the sender as they are, without a copy. On a resume the kept
// bytes come first, read from the temp file into a buffer of their own.
func (s *objectSource) NextChunk(ctx context.Context) (send.Chunk, error) {
	if s.prefixLeft > 0 {
		if s.prefixBuf == nil {
			s.prefixBuf = make([]byte, min(prefixChunk, s.prefixLeft))
		}
		k, err := s.Read(ctx, s.prefixBuf)
		return send.Chunk{Data: s.prefixBuf[:k]}, err
	}
	if s.held { // left by a Read that stopped inside it
		c := s.cur
		s.held = false
		return send.Chunk{Data: c.Data[s.pos:], Release: c.Release}, nil
	}
	c, err := s.rd.Next(ctx)
	if err != nil {
		return send.Chunk{}, err
	}
	return send.Chunk{Data: c.Data, Release: c.Release}, nil
}

// release gives back a chunk still held when the send stopped early.
func (s *objectSource) release() {
	if s.held {
		s.cur.Release()
		s.held = false
	}
}

// Confirm implements send.Source: the object's size, and the BLAKE3 that
// efssync stored with it when there is one.
func (s *objectSource) Confirm(_ context.Context, n int64, sum [32]byte) error {
	if n != s.size {
		return fmt.Errorf("s3 key %q: read %d bytes, listed with %d: %w", s.key, n, s.size, s3src.ErrChanged)
	}
	if s.want != nil && !bytes.Equal(s.want, sum[:]) {
		return fmt.Errorf("s3 key %q: %w (stored %x, read %x)", s.key, ErrHashMismatch, s.want, sum)
	}
	return nil
}

// Identity implements send.Source: an object version is its ETag and
// version id (folded into Ino), size and stored mtime.
func (s *objectSource) Identity() send.Identity { return s.id }
