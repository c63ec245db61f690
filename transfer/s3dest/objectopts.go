package s3dest

import (
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// validTagText reports whether s uses only characters S3 accepts in tags.
func validTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return true
}

// objectOptions fills the per-object settings shared by PutObject and
// CreateMultipartUpload.
func (d *Dest) objectOptions(class *types.StorageClass, sse *types.ServerSideEncryption, kms **string, tagging **string) {
	if d.opts.StorageClass != "" {
		*class = types.StorageClass(d.opts.StorageClass)
	}
	if d.opts.SSE != "" {
		*sse = types.ServerSideEncryption(d.opts.SSE)
	}
	if d.opts.KMSKeyID != "" {
		*kms = aws.String(d.opts.KMSKeyID)
	}
	if d.tagValue != "" {
		*tagging = aws.String(d.tagValue)
	}
}

// tagSet merges the configured tags with efssync's for PutObjectTagging,
// sorted so requests are reproducible.
func (d *Dest) tagSet(meta map[string]string) []types.Tag {
	var tags []types.Tag
	for k, v := range d.opts.Tags {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	for k, v := range meta {
		tags = append(tags, types.Tag{Key: aws.String(tagPrefix + k), Value: aws.String(v)})
	}
	sort.Slice(tags, func(i, j int) bool { return *tags[i].Key < *tags[j].Key })
	return tags
}

// partPools recycles part buffers between the uploads of one Dest, so a
// steady stream of large files does not allocate a part per part. Parts
// come in a few sizes (partPlan rounds them to whole MiB), one pool each.
type partPools struct {
	mu    sync.Mutex
	sizes map[int64]*sync.Pool
}

func (pp *partPools) pool(size int64) *sync.Pool {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.sizes == nil {
		pp.sizes = map[int64]*sync.Pool{}
	}
	p, ok := pp.sizes[size]
	if !ok {
		p = &sync.Pool{New: func() any { b := make([]byte, 0, size); return &b }}
		pp.sizes[size] = p
	}
	return p
}

// get returns an empty buffer with room for size bytes.
func (pp *partPools) get(size int64) *[]byte { return pp.pool(size).Get().(*[]byte) }

// put gives b back to the pool of its capacity.
func (pp *partPools) put(b *[]byte) {
	if b == nil {
		return
	}
	*b = (*b)[:0]
	pp.pool(int64(cap(*b))).Put(b)
}
