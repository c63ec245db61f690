package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/miniotest"
)

// TestRestoreKilledBeforeCheckpointLeavesNoPartFile: a restore SIGKILLed
// before its first checkpoint leaves a 16 MiB kept part file that no
// checkpoint names; gc removes it, and so does the next run's crash
// cleanup, which then restores the object whole (issue 20 #11). A part
// file of another agent's tag stays; one a checkpoint names is resumed
// (TestRestoreResumesAfterSIGKILL).
func TestRestoreKilledBeforeCheckpointLeavesNoPartFile(t *testing.T) {
	size := 16 << 20
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "early")
	setS3Env(t, srv)
	data := bytes.Repeat([]byte("sixteen mebibytes, killed early. "), size/33+1)[:size]
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("early"), Key: aws.String("r/big.bin"),
		Body: bytes.NewReader(data)})
	must(t, err)
	r := restoreFixture(t, "early", "r/", srv.Endpoint, 1, ", part_size: 8MiB")
	foreign := filepath.Join(r.dests[0], ".efssync-part-0ther000-0123456789abcdef")
	must(t, os.WriteFile(foreign, []byte("another agent's"), 0o600))

	a, err := New(r.config(), Options{})
	must(t, err)
	ours := filepath.Join(r.dests[0], ".efssync-part-"+a.tag+"-0123456789abcdef")
	marker := a.db.Path() + ".job.running"
	a.Close()
	// What a run SIGKILLed before its first checkpoint leaves: its part
	// file, named by no checkpoint, and its run marker.
	crash := func() {
		must(t, os.WriteFile(ours, data, 0o600))
		must(t, os.WriteFile(marker, nil, 0o600))
	}
	crash()
	a, err = New(r.config(), Options{})
	must(t, err)
	_, err = a.GC(context.Background())
	a.Close()
	must(t, err)
	if parts, _ := filepath.Glob(filepath.Join(r.dests[0], ".efssync-part-*")); len(parts) != 1 || parts[0] != foreign {
		t.Fatalf("after gc: part files %v, want only %s", parts, foreign)
	}

	crash()
	s, rep := runSummary(t, r)
	if !s.OK() || s.Copied != 1 {
		t.Fatalf("restore after the kill: %+v\n%s", s, rep)
	}
	if parts, _ := filepath.Glob(filepath.Join(r.dests[0], ".efssync-part-*")); len(parts) != 1 || parts[0] != foreign {
		t.Fatalf("after the next run: part files %v, want only %s", parts, foreign)
	}
	got, err := os.ReadFile(filepath.Join(r.dests[0], "big.bin"))
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("restored file differs from the object")
	}
}
