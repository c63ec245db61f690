package agent

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/transfer"
)

// TestMain lets a test re-run this binary as an agent process that it can
// SIGKILL: EFSSYNC_TEST_CHILD names the config file to run once.
func TestMain(m *testing.M) {
	if cfgPath := os.Getenv("EFSSYNC_TEST_CHILD"); cfgPath != "" {
		cfg, err := config.Load(cfgPath, nil)
		if err == nil {
			var a *Agent
			if a, err = New(cfg, Options{}); err == nil {
				_, err = a.Run(context.Background())
				a.Close()
			}
		}
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// countingProxy forwards TCP to upstream and counts the bytes clients send.
func countingProxy(t *testing.T, upstream string) (addr string, sent *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	sent = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(c, u); c.Close() }()
				io.Copy(countWriter{u, sent}, c)
			}()
		}
	}()
	return ln.Addr().String(), sent
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// TestResumeAfterSIGKILLMidMultipart kills an agent process while it
// uploads a large file in parts, then runs again and checks that the parts
// S3 had acknowledged were not sent a second time.
func TestResumeAfterSIGKILLMidMultipart(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	addr, sent := countingProxy(t, srv.Addr)
	f.s3 = strings.Replace(f.s3, srv.Endpoint, "http://"+addr, 1)
	f.extra = "    bandwidth: 8MiB\n"
	const size = 60 << 20 // twelve 5 MiB parts
	data := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(data)
	must(t, os.WriteFile(filepath.Join(f.src, "recording.ts"), data, 0o644))
	f.config() // writes config.yaml
	cfgPath := filepath.Join(f.dir, "config.yaml")

	exe, err := os.Executable()
	must(t, err)
	child := exec.Command(exe, "-test.run=^$")
	child.Env = append(os.Environ(), "EFSSYNC_TEST_CHILD="+cfgPath)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	must(t, child.Start())
	// Wait until S3 holds at least four parts of the upload, then kill.
	cl := srv.Client()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatalf("no parts appeared; child stderr:\n%s", stderr.String())
		}
		ups, err := cl.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
		if err == nil && len(ups.Uploads) == 1 {
			parts, err := cl.ListParts(context.Background(), &s3.ListPartsInput{Bucket: aws.String(bucket),
				Key: ups.Uploads[0].Key, UploadId: ups.Uploads[0].UploadId})
			if err == nil && len(parts.Parts) >= 4 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, child.Process.Kill())
	_ = child.Wait()
	if _, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/recording.ts")}); err == nil {
		t.Fatal("object complete before the kill; the test did not interrupt the upload")
	}

	// The checkpoint the killed agent left names the parts it saw
	// acknowledged; those must not travel again.
	a, err := New(f.config(), Options{})
	must(t, err)
	var cpParts int
	must(t, a.db.Checkpoints("job", func(_, _ string, cp *transfer.Checkpoint) error {
		cpParts = len(cp.Parts)
		return nil
	}))
	a.Close()
	if cpParts < 2 {
		t.Fatalf("killed agent checkpointed %d parts, want at least 2", cpParts)
	}

	before := sent.Load()
	f.extra = ""
	sum := f.run(Options{})
	if !sum.OK() || sum.Copied != 1 {
		t.Fatalf("resumed run: %+v", sum)
	}
	resent := sent.Load() - before
	if limit := int64(size - cpParts*(5<<20) + 1<<20); resent > limit {
		t.Fatalf("resumed run sent %d bytes of a %d-byte file with %d parts checkpointed (limit %d): acknowledged parts were sent again",
			resent, size, cpParts, limit)
	}
	t.Logf("resumed run sent %d of %d bytes; %d parts were checkpointed", resent, size, cpParts)
	if got := getObject(t, srv, bucket, "rec/recording.ts"); !bytes.Equal(got, data) {
		t.Fatal("resumed object differs from the source")
	}
	ups, err := cl.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	must(t, err)
	if len(ups.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left behind", len(ups.Uploads))
	}
}
