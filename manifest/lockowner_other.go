//go:build !linux

package manifest

// lockOwner cannot name the lock holder outside Linux; 0 means unknown.
func lockOwner(string) int { return 0 }
