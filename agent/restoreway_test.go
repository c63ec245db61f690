package agent

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer/s3src"
)

// TestRestoreReplacesEntriesOfTheOtherType: between two restores a key
// becomes the prefix of others, or the reverse, as a layout changes in the
// bucket. Each restore converges in one run, at every destination: the
// directory in the way of a file goes (with what is below it, within
// max_delete), the file in the way of a directory goes, and the manifest
// keeps no record of what was replaced, so verify and the next run agree.
// Entries the manifest never knew of (put there by hand) are replaced too.
func TestRestoreReplacesEntriesOfTheOtherType(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "types")
	setS3Env(t, srv)
	put(t, srv, "types", "p/x/y", "below x")
	put(t, srv, "types", "p/keep", "kept")
	r := restoreFixture(t, "types", "p", srv.Endpoint, 2, "")
	r.extra = "    max_delete: \"100%\"\n"
	if sum, rep := runSummary(t, r); !sum.OK() || sum.Copied != 2 {
		t.Fatalf("first restore: %+v\n%s", sum, rep)
	}
	// By hand at one destination: a file where a directory will be needed,
	// a directory where a file will go.
	treetest.Write(t, r.dests[1], map[string]string{"u": "a user's file", "v/w": "a user's tree"})

	del(t, srv, "types", "p/x/y")
	put(t, srv, "types", "p/x", "x is a file now")
	put(t, srv, "types", "p/u/deep/file", "u is a directory in the bucket")
	put(t, srv, "types", "p/v", "v is a file in the bucket")
	want := map[string]string{"x": "x is a file now", "keep": "kept", "u/deep/file": "u is a directory in the bucket",
		"v": "v is a file in the bucket"}
	// x, u/deep/file and v are copied, each counted once although u/deep/file
	// and v reached the second destination after the pass.
	if c := restoreConverges(t, r, want); c != 3 {
		t.Errorf("the restore counted %d copies, want 3", c)
	}

	del(t, srv, "types", "p/x")
	put(t, srv, "types", "p/x/y/z", "x is a directory again")
	delete(want, "x")
	want["x/y/z"] = "x is a directory again"
	restoreConverges(t, r, want)
}

// restoreConverges restores, then checks both destinations hold want, a
// re-run changes nothing, and verify finds no difference. It returns the
// restore's count of copied files.
func restoreConverges(t *testing.T, r *fixture, want map[string]string) int64 {
	t.Helper()
	sum, rep := runSummary(t, r)
	if !sum.OK() {
		t.Fatalf("restore: %+v\n%s", sum, rep)
	}
	for _, d := range r.dests {
		wantFiles(t, d, want)
	}
	if sum, rep := runSummary(t, r); !sum.OK() || sum.Copied != 0 || sum.Deleted != 0 {
		t.Fatalf("the re-run did not find the restore complete: %+v\n%s", sum, rep)
	}
	a, err := New(r.config(), Options{})
	must(t, err)
	defer a.Close()
	var out bytes.Buffer
	if n, err := a.Verify(context.Background(), &out); err != nil || n != 0 {
		t.Fatalf("verify: %d differences, %v\n%s", n, err, out.String())
	}
	return sum.Copied
}

func del(t *testing.T, srv *miniotest.Server, bucket, key string) {
	t.Helper()
	_, err := srv.Client().DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	must(t, err)
}

// TestRestoreRefusesAKeyThatIsAlsoAPrefix: S3 can hold "x" beside "x/y";
// no file system can. The directory wins whatever order the objects were
// read in, and key "x" is an error for that object alone, naming it. (MinIO
// never lists both, so the decision is tested on the listing.)
func TestRestoreRefusesAKeyThatIsAlsoAPrefix(t *testing.T) {
	for _, order := range [][]string{{"x", "x/y"}, {"x/y", "x"}} {
		l := listing{}
		for _, rel := range order {
			l.add(rel, false)
		}
		if l["x"] != listedFile|listedDir || l["x/y"] != listedFile {
			t.Fatalf("listing %v: %v", order, l)
		}
		r := &restoreRun{}
		err := r.clearWay(context.Background(), objectTask{obj: s3src.Object{Key: "p/x", Rel: "x"}}, l)
		if err == nil || !strings.Contains(err.Error(), `"p/x"`) || !strings.Contains(err.Error(), "p/x/") {
			t.Fatalf("key that is also a prefix, listed %v: %v", order, err)
		}
		if a, ok := l.fileAncestor("x/y"); !ok || a != "x" {
			t.Fatalf("the file key above x/y: %q, %v", a, ok)
		}
	}
	l := listing{}
	l.add("d", true) // a folder marker is a directory, not a key's file
	l.add("d/e", false)
	if _, ok := l.fileAncestor("d/e"); ok || l["d"] != listedDir {
		t.Fatalf("a folder marker: %v", l)
	}
}
