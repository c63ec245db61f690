package transfer

import "context"

// LeftoverLister reports, without removing anything, what Cleanup would
// remove: `efssync gc --dry-run` lists it. keep has Cleanup's meaning; fn
// receives one description per leftover (a path, or a key and upload ID).
type LeftoverLister interface {
	Leftovers(ctx context.Context, keep func(uploadID string) bool, fn func(what string) error) error
}
