package transfer

import "sync"

// BufferPool hands out chunk buffers of one size so that reading a file,
// hashing it and fanning it out to N destinations allocates nothing per chunk.
type BufferPool struct {
	size int
	pool sync.Pool
}

// NewBufferPool returns a pool of size-byte buffers.
func NewBufferPool(size int) *BufferPool {
	p := &BufferPool{size: size}
	p.pool.New = func() any { b := make([]byte, size); return &b }
	return p
}

// Get returns a buffer of the pool's size.
func (p *BufferPool) Get() *[]byte { return p.pool.Get().(*[]byte) }

// Put returns a buffer; buffers of another size are dropped.
func (p *BufferPool) Put(b *[]byte) {
	if b != nil && cap(*b) == p.size {
		*b = (*b)[:p.size]
		p.pool.Put(b)
	}
}

// Size is the length of the pool's buffers.
func (p *BufferPool) Size() int { return p.size }
