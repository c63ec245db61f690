package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/agent/send"
	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/treetest"
)

// TestMain lets a test re-run this binary as an agent process that it can
// SIGKILL: EFSSYNC_TEST_CHILD names the config file to run once.
func TestMain(m *testing.M) {
	if cfgPath := os.Getenv("EFSSYNC_TEST_CHILD"); cfgPath != "" {
		cfg, err := config.Load(cfgPath, nil)
		if err == nil {
			var a *Agent
			if a, err = New(cfg, Options{}); err == nil {
				ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
				_, err = a.Run(ctx)
				stop()
				a.Close()
				if errors.Is(err, context.Canceled) {
					err = nil
				}
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
func TestResumeAfterSIGKILLMidMultipart(t *testing.T) { testResumeAfter(t, syscall.SIGKILL) }

// TestResumeAfterSIGTERMMidMultipart is the same for an orderly stop: the
// agent leaves its checkpointed upload in place instead of aborting it.
func TestResumeAfterSIGTERMMidMultipart(t *testing.T) { testResumeAfter(t, syscall.SIGTERM) }

func testResumeAfter(t *testing.T, sig syscall.Signal) {
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
	must(t, child.Process.Signal(sig))
	if err := child.Wait(); sig == syscall.SIGTERM && err != nil {
		t.Fatalf("agent stopped by SIGTERM: %v\n%s", err, stderr.String())
	}
	if _, err := cl.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("rec/recording.ts")}); err == nil {
		t.Fatal("object complete before the kill; the test did not interrupt the upload")
	}

	// The checkpoint the killed agent left names the parts it saw
	// acknowledged; those must not travel again.
	a, err := New(f.config(), Options{})
	must(t, err)
	var cpParts int
	must(t, a.db.Checkpoints("job", func(_, _ string, data []byte) error {
		cp, _, err := send.DecodeCheckpoint(data)
		if err == nil {
			cpParts = len(cp.Parts)
		}
		return err
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

// TestWatchSIGKILLMidStreamCatchesUp kills a watch-mode agent while an
// encoder-like writer keeps producing segments and playlists, starts a new
// agent, and checks that it catches up to a byte-identical replica with no
// temp files left.
func TestWatchSIGKILLMidStreamCatchesUp(t *testing.T) {
	f := newFixture(t, 2)
	f.extra = "    mode: watch\n    order: [hls]\n"
	f.config()
	cfgPath := filepath.Join(f.dir, "config.yaml")
	exe, err := os.Executable()
	must(t, err)
	child := exec.Command(exe, "-test.run=^$")
	child.Env = append(os.Environ(), "EFSSYNC_TEST_CHILD="+cfgPath)
	must(t, child.Start())

	seg := func(i int) {
		w, err := os.Create(filepath.Join(f.src, fmt.Sprintf("seg%03d.ts", i)))
		must(t, err)
		for k := range 8 {
			_, _ = w.Write(bytes.Repeat([]byte{byte(i + k)}, 32<<10))
		}
		must(t, w.Close())
		var b strings.Builder
		b.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:1\n")
		for k := 0; k <= i; k++ {
			fmt.Fprintf(&b, "#EXTINF:1.0,\nseg%03d.ts\n", k)
		}
		tmp := filepath.Join(f.src, "live.m3u8.tmp")
		must(t, os.WriteFile(tmp, []byte(b.String()), 0o644))
		must(t, os.Rename(tmp, filepath.Join(f.src, "live.m3u8")))
	}
	for i := range 5 {
		seg(i)
	}
	eventually(t, "the first agent to replicate", func() bool {
		b, _ := os.ReadFile(filepath.Join(f.dests[1], "live.m3u8"))
		return strings.Contains(string(b), "seg004.ts")
	})
	// Kill it in the middle of a segment.
	w, err := os.Create(filepath.Join(f.src, "seg005.ts"))
	must(t, err)
	_, _ = w.Write(bytes.Repeat([]byte{5}, 100<<10))
	must(t, child.Process.Kill())
	_ = child.Wait()
	_, _ = w.Write(bytes.Repeat([]byte{6}, 100<<10))
	must(t, w.Close())
	for i := 6; i < 9; i++ {
		seg(i)
	}
	// seg005 is listed by the next playlist version.
	f.extra = "    order: [hls]\n" // startWatch adds the watch mode
	ready, stop := f.startWatch(t)
	<-ready
	seg(9)
	for _, d := range f.dests {
		eventually(t, "catch-up on "+d, func() bool {
			b, _ := os.ReadFile(filepath.Join(d, "live.m3u8"))
			return strings.Contains(string(b), "seg009.ts")
		})
	}
	stop()
	for _, d := range f.dests {
		treetest.Equal(t, f.src, d)
	}
}
