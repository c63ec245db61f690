// Package transfertest is the conformance suite every transfer.Destination
// must pass. It exists so the mounted-fs and the S3 destinations (and any
// later one) are held to one written-down contract instead of each carrying
// its own idea of what Begin, Commit or Remove mean. It is a normal package
// (not a _test one) so the implementations' tests can import it.
//
// Abilities a destination may lack are tested only when present: optional
// interfaces through transfer.As, and metadata (mode, mtime, hash) only when
// Stat reports it non-zero.
package transfertest

import (
	"testing"
	"time"

	"github.com/efssync/efssync/transfer"
)

// ChunkSize is the size of the chunks the suite writes, the size the agent
// reads source files in.
const ChunkSize = 1 << 20

// modTime is the mtime every file of the suite is committed with. It has
// nanoseconds so a destination that keeps them is checked to keep them.
var modTime = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

// RunTests runs the conformance suite against destinations made by newDest.
// newDest is called once per subtest and must return an empty destination
// that no other subtest uses (a fresh temp dir, a fresh bucket prefix); it
// should register its own cleanup with t.Cleanup.
func RunTests(t *testing.T, newDest func(t *testing.T) transfer.Destination) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, transfer.Destination)
	}{
		{"Name", testName},
		{"StatMissing", testStatMissing},
		{"EmptyFile", testEmptyFile},
		{"SmallFile", testSmallFile},
		{"MultiChunk", testMultiChunk},
		{"ExactChunkMultiple", testExactChunkMultiple},
		{"WriteIdempotent", testWriteIdempotent},
		{"NotVisibleBeforeCommit", testNotVisibleBeforeCommit},
		{"Abort", testAbort},
		{"AbortKeepsPrevious", testAbortKeepsPrevious},
		{"Overwrite", testOverwrite},
		{"Metadata", testMetadata},
		{"CommitHash", testCommitHash},
		{"Remove", testRemove},
		{"NestedPaths", testNestedPaths},
		{"Names", testNames},
		{"List", testList},
		{"Open", testOpen},
		{"Mkdir", testMkdir},
		{"Symlink", testSymlink},
		{"Link", testLink},
		{"Sync", testSync},
		{"Cleanup", testCleanup},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newDest(t))
		})
	}
}

// RunResumeTests checks resumable uploads: an upload whose Checkpoint is
// non-nil can be continued by a new Begin after its Upload value is lost (a
// crash), the agent writing the file again from offset 0. Destinations whose
// uploads never return a checkpoint (the fs destination) skip it.
func RunResumeTests(t *testing.T, newDest func(t *testing.T) transfer.Destination) {
	t.Helper()
	t.Run("ResumeAfterCrash", func(t *testing.T) { testResume(t, newDest(t)) })
	t.Run("ResumeSurvivesCleanupKeep", func(t *testing.T) { testResumeCleanupKeep(t, newDest(t)) })
}
