package s3dest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Before an archived source is deleted, its object must be shown to hold
// the source's bytes. Size and the BLAKE3 in the metadata prove nothing
// (metadata is copied along by CopyObject); the checksum S3 computed over
// the stored bytes does, and S3 returns it with a HEAD, so no download is
// needed. Checksum asks for it; Compute computes the same from a local
// file.

// StoredChecksum is the checksum S3 keeps for an object.
type StoredChecksum struct {
	// Algorithm is "CRC32C", "CRC32" or "CRC64NVME".
	Algorithm string
	// Full is true for a checksum of the whole object (PutObject, or a
	// full-object multipart upload); false for a composite checksum of a
	// multipart upload: the checksum of the parts' checksums.
	Full bool
	// Value is the base64 checksum as S3 reports it, with "-N" (the part
	// count) for a composite one.
	Value string
}

// Parts is the part count of a composite checksum, 1 for a full one.
func (c StoredChecksum) Parts() int {
	i := strings.LastIndexByte(c.Value, '-')
	if c.Full || i < 0 {
		return 1
	}
	n, err := strconv.Atoi(c.Value[i+1:])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// ErrNoChecksum means S3 holds no checksum efssync can recompute for the
// object (uploaded without one, or with another algorithm): the caller
// cannot confirm its content without reading it back.
var ErrNoChecksum = errors.New("the object has no CRC32C, CRC32 or CRC64NVME checksum")

// Checksum returns the checksum S3 computed over the stored bytes of rel
// (HeadObject with ChecksumMode ENABLED).
func (d *Dest) Checksum(ctx context.Context, rel string) (StoredChecksum, error) {
	key, err := d.Key(rel)
	if err != nil {
		return StoredChecksum{}, err
	}
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return StoredChecksum{}, d.wrap(key, "head", err)
	}
	var c StoredChecksum
	switch {
	case out.ChecksumCRC64NVME != nil:
		c = StoredChecksum{Algorithm: "CRC64NVME", Value: *out.ChecksumCRC64NVME}
	case out.ChecksumCRC32C != nil:
		c = StoredChecksum{Algorithm: "CRC32C", Value: *out.ChecksumCRC32C}
	case out.ChecksumCRC32 != nil:
		c = StoredChecksum{Algorithm: "CRC32", Value: *out.ChecksumCRC32}
	default:
		return StoredChecksum{}, fmt.Errorf("s3dest: s3://%s/%s: %w", d.bucket, key, ErrNoChecksum)
	}
	switch out.ChecksumType {
	case types.ChecksumTypeFullObject:
		c.Full = true
	case types.ChecksumTypeComposite:
	default: // not reported (older servers): a "-N" suffix means composite
		c.Full = !strings.Contains(c.Value, "-")
	}
	return c, nil
}

// crc64NVME is the CRC-64/NVME table (polynomial 0xad93d23594c935a9,
// reflected), the CRC S3 computes by default.
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// newHash returns the hash for an algorithm of a StoredChecksum.
func newHash(algorithm string) (hash.Hash, error) {
	switch algorithm {
	case "CRC32C":
		return crc32.New(castagnoli), nil
	case "CRC32":
		return crc32.NewIEEE(), nil
	case "CRC64NVME":
		return crc64.New(crc64NVME), nil
	}
	return nil, fmt.Errorf("s3dest: checksum algorithm %q: %w", algorithm, ErrNoChecksum)
}

// Compute returns the checksum of the size bytes of r in the form of like:
// the same algorithm, over the whole content for a full checksum, or over
// parts of partSize (the last one shorter) for a composite one. Compare
// it with like.Value: equal means the object holds r's bytes. partSize is
// the part size the object was uploaded with (the destination's
// part_size, or the checkpoint's for a resumed upload); a part count that
// does not match it is an error, not a mismatch.
func Compute(r io.ReaderAt, size int64, like StoredChecksum, partSize int64) (string, error) {
	if like.Full {
		h, err := newHash(like.Algorithm)
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
			return "", fmt.Errorf("s3dest: checksum: %w", err)
		}
		return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
	}
	if partSize <= 0 {
		return "", errors.New("s3dest: checksum: a composite checksum needs the part size")
	}
	n := int((size + partSize - 1) / partSize)
	if size == 0 {
		n = 1
	}
	if want := like.Parts(); want != n {
		return "", fmt.Errorf("s3dest: checksum: the object has %d parts, %d bytes in parts of %d make %d", want, size, partSize, n)
	}
	outer, err := newHash(like.Algorithm)
	if err != nil {
		return "", err
	}
	for i := range int64(n) {
		h, _ := newHash(like.Algorithm)
		if _, err := io.Copy(h, io.NewSectionReader(r, i*partSize, min(partSize, size-i*partSize))); err != nil {
			return "", fmt.Errorf("s3dest: checksum of part %d: %w", i+1, err)
		}
		outer.Write(h.Sum(nil))
	}
	return base64.StdEncoding.EncodeToString(outer.Sum(nil)) + "-" + strconv.Itoa(n), nil
}
