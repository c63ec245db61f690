//go:build !linux

package watch

import (
	"context"
	"errors"
)

// Watcher is only implemented on Linux (inotify); elsewhere watch mode
// falls back to periodic rescans.
type Watcher struct{}

// New reports errors.ErrUnsupported outside Linux.
func New(root string, opts Options) (*Watcher, error) {
	return nil, errors.ErrUnsupported
}

// Events is never used outside Linux.
func (w *Watcher) Events() <-chan Event { return nil }

// Run is never used outside Linux.
func (w *Watcher) Run(ctx context.Context) error { return errors.ErrUnsupported }

// Close is never used outside Linux.
func (w *Watcher) Close() error { return nil }
