package transfer

import "errors"

// ErrNoSpace is the cause every out-of-space error wraps: a destination
// file system that is full (ENOSPC) or over the writer's quota (EDQUOT).
// Further files would fail the same way, so the agent stops that
// destination for the run with one message naming it, and lets the other
// destinations go on.
var ErrNoSpace = errors.New("destination is out of space")

type noSpaceError struct{ err error }

func (e noSpaceError) Error() string { return e.err.Error() }

// Unwrap gives both the cause the destination saw (errors.Is(err,
// syscall.ENOSPC) holds) and ErrNoSpace.
func (e noSpaceError) Unwrap() []error { return []error{e.err, ErrNoSpace} }

// NoSpace marks err, an error of a destination that ran out of space, so
// that IsNoSpace and errors.Is(err, ErrNoSpace) recognise it. It is also
// marked Fatal: no retry helps, and the destination is given up for the
// run.
func NoSpace(err error) error {
	if err == nil {
		return nil
	}
	return Fatal(noSpaceError{err})
}

// IsNoSpace reports whether err, or an error it wraps, was marked NoSpace.
func IsNoSpace(err error) bool { return errors.Is(err, ErrNoSpace) }
