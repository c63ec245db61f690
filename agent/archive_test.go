package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/manifest"
)

// forgeRecord leaves the state issue 11's D1 left behind: the replica and
// the manifest record hold bytes the writer has since rewritten, while the
// record carries the source's current stat.
func forgeRecord(t *testing.T, f *fixture, rel string, old []byte) {
	t.Helper()
	dst := filepath.Join(f.dests[0], rel)
	fi, err := os.Stat(dst)
	must(t, err)
	must(t, os.WriteFile(dst, old, 0o644))
	must(t, os.Chtimes(dst, fi.ModTime(), fi.ModTime()))
	db, err := manifest.Open(f.config().Manifest)
	must(t, err)
	defer db.Close()
	rec, ok, err := db.Get("job", rel)
	if err != nil || !ok {
		t.Fatalf("record of %s: %v, %v", rel, ok, err)
	}
	rec.Hash = blake3.Sum256(old)
	for i := range rec.Dests {
		rec.Dests[i].Hash = rec.Hash
	}
	b := db.NewBatch()
	b.Put("job", rel, rec)
	must(t, b.Commit())
}

// Archiving compares the destination with the source's content, never only
// with the recorded hash: a record describing bytes the writer rewrote
// must not let the source go (issue 11, D1), and the next runs converge.
func TestArchiveComparesWithTheSourceNotTheRecord(t *testing.T) {
	f := newFixture(t, 1)
	f.extra = "    verify: all\n    finished: {quiet: 60s}\n"
	body := bytes.Repeat([]byte("x"), 100<<10)
	src := filepath.Join(f.src, "rec.mp4")
	want := append([]byte("MOOV"), body...)
	must(t, os.WriteFile(src, want, 0o644))
	old := time.Now().Add(-2 * time.Minute)
	must(t, os.Chtimes(src, old, old))
	if sum := f.run(Options{}); !sum.OK() {
		t.Fatalf("first run: %+v", sum)
	}
	forgeRecord(t, f, "rec.mp4", append([]byte("HDR0"), body...))

	f.extra += "    after_archive: delete\n"
	sum := f.run(Options{})
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("source removed although the replica holds other bytes (%+v): %v", sum, err)
	}
	if sum.Changed != 1 {
		t.Fatalf("want the archive reported as changed: %+v", sum)
	}
	// The wrong record was forgotten: the next run copies, then archives.
	for range 2 {
		f.run(Options{})
	}
	got, err := os.ReadFile(filepath.Join(f.dests[0], "rec.mp4"))
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("replica holds %q..., want the source's MOOV", got[:4])
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Fatalf("source not archived after the replica was repaired: %v", err)
	}
}

// Under verify: transferred, a same-size object whose efssync metadata
// (BLAKE3, mtime) was copied from the original proves nothing: the
// checksum S3 computed over the stored bytes is compared with the source's
// before the source is deleted (issue 11, weak spots).
func TestArchiveComparesStoredChecksumWithTheSource(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	f.extra = "    finished: {quiet: 60s}\n"
	old := time.Now().Add(-2 * time.Minute)
	src := filepath.Join(f.src, "rec.ts")
	must(t, os.WriteFile(src, []byte("the recording"), 0o644))
	must(t, os.Chtimes(src, old, old))
	if sum := f.run(Options{}); !sum.OK() || sum.Copied != 1 {
		t.Fatalf("first run: %+v", sum)
	}
	ctx := context.Background()
	head, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts")})
	must(t, err)
	_, err = srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/rec.ts"),
		Body: bytes.NewReader([]byte("the forgeries")), Metadata: head.Metadata})
	must(t, err)

	f.extra += "    after_archive: delete\n"
	sum := f.run(Options{})
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("source removed although the object holds other bytes (%+v): %v", sum, err)
	}
	if sum.Failed != 1 {
		t.Fatalf("want one failed verification: %+v", sum)
	}
}
