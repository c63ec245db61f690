package agent

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// restoreHelperEnv names the config a re-executed test binary restores
// with, as its own process, so that the test can SIGKILL it.
const restoreHelperEnv = "EFSSYNC_TEST_RESTORE_CONFIG"

// TestRestoreHelperProcess is the restore run in the child process of
// TestRestoreResumesAfterSIGKILL; on its own it does nothing.
func TestRestoreHelperProcess(t *testing.T) {
	path := os.Getenv(restoreHelperEnv)
	if path == "" {
		return
	}
	cfg, err := config.Load(path, nil)
	must(t, err)
	a, err := New(cfg, Options{})
	must(t, err)
	defer a.Close()
	_, err = a.Run(context.Background())
	must(t, err)
}

// TestRestoreResumesAfterSIGKILL kills a restoring process at about half
// of a 96 MiB object (the issue asks for 400 MiB; scaled down for this
// machine) and restarts it: the bytes on the wire for the whole restore,
// counted through a byte-counting proxy, stay within 1.3× the object, and
// the file is published byte-exact with its stored BLAKE3 confirmed over
// the kept prefix re-read and the rest fetched.
//
// EFSSYNC_TEST_RESTORE_KILL_MIB=400 runs it at the size.
func TestRestoreResumesAfterSIGKILL(t *testing.T) {
	size := 96 << 20
	if v, err := strconv.Atoi(os.Getenv("EFSSYNC_TEST_RESTORE_KILL_MIB")); err == nil && v > 0 {
		size = v << 20
	}
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "kill")
	setS3Env(t, srv)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	sum := blake3.Sum256(data)
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 6000, time.UTC)
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("kill"), Key: aws.String("r/big.bin"),
		Body: bytes.NewReader(data), Metadata: s3client.EncodeMeta(transfer.Meta{Mode: 0o640, ModTime: mtime, Hash: sum[:]}, true)})
	must(t, err)

	cnt := newS3Counter(t, srv)
	half := make(chan struct{})
	cnt.at(int64(size/2), half)
	r := restoreFixture(t, "kill", "r", cnt.URL, 1, ", part_size: 2MiB, part_concurrency: 2")
	cfgPath := filepath.Join(r.dir, "config.yaml")
	r.config() // writes cfgPath
	cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), restoreHelperEnv+"="+cfgPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-half:
		must(t, cmd.Process.Kill())
		<-exited
	case err := <-exited:
		t.Fatalf("the restore ended before half of the object was read: %v\n%s", err, out.String())
	}
	first := cnt.bytes.Load()
	parts, _ := filepath.Glob(filepath.Join(r.dests[0], ".efssync-part-*"))
	if len(parts) != 1 {
		t.Fatalf("after SIGKILL at %d bytes: kept temp files %v, want one", first, parts)
	}

	s, rep := runSummary(t, r)
	if !s.OK() || s.Copied != 1 {
		t.Fatalf("resumed restore: %+v\n%s", s, rep)
	}
	got, err := os.ReadFile(filepath.Join(r.dests[0], "big.bin"))
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("resumed file differs from the object")
	}
	fi, err := os.Stat(filepath.Join(r.dests[0], "big.bin"))
	must(t, err)
	if !fi.ModTime().Equal(mtime) || fi.Mode().Perm() != 0o640 {
		t.Errorf("resumed file: mtime %v mode %v, want %v 0640", fi.ModTime(), fi.Mode().Perm(), mtime)
	}
	if left, _ := filepath.Glob(filepath.Join(r.dests[0], ".efssync-*")); len(left) != 0 {
		t.Errorf("temp files left after the resumed restore: %v", left)
	}
	total := cnt.bytes.Load()
	t.Logf("bytes on the wire: %d before the kill, %d in all (%.2f× the object)", first, total, float64(total)/float64(size))
	if float64(total) > 1.3*float64(size) {
		t.Fatalf("%d bytes on the wire for a %d-byte object resumed at half: more than 1.3×", total, size)
	}
}
