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

// partPool recycles part buffers between the uploads of one Dest, so a
// steady stream of large files does not allocate a part per part.
type partPool struct {
	size int64
	p    sync.Pool
}

func newPartPool(size int64) *partPool {
	pp := &partPool{size: size}
	pp.p.New = func() any {
		b := make([]byte, 0, size)
		return &b
	}
	return pp
}

func (pp *partPool) get() *[]byte { return pp.p.Get().(*[]byte) }

func (pp *partPool) put(b *[]byte) {
	if b == nil || int64(cap(*b)) != pp.size {
		return
	}
	*b = (*b)[:0]
	pp.p.Put(b)
}
