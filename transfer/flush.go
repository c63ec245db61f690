package transfer

import "context"

// Flusher is an Upload that sends in the background (S3 parts): Flush waits
// for what is in flight, so a checkpoint taken after it covers every part
// written. Decorators forward it with Flush.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Flush waits for u's background work when u is a Flusher, and is a no-op
// otherwise.
func Flush(ctx context.Context, u Upload) error {
	if f, ok := u.(Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}
