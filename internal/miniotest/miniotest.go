// Package miniotest starts a real MinIO server for tests, so that everything
// efssync says about S3 is checked against a real S3 implementation instead of
// a mock that agrees with our own assumptions.
//
// The binary is found in this order: the EFSSYNC_TEST_MINIO environment variable,
// <repo>/.bin/minio (built by scripts/install-test-deps.sh), then PATH. When
// it is missing the test is skipped with instructions, except under CI=true,
// where a missing dependency must fail the run.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/testbin"
)

// Region is the region MinIO answers for; clients must sign with it.
const Region = "us-east-1"

// readyTimeout bounds how long Start waits for the server to come up. A cold
// MinIO on a loaded 2-core CI machine takes a few seconds.
const readyTimeout = 60 * time.Second

// Server is one running MinIO, owned by the test that started it.
type Server struct {
	// Endpoint is the base URL, e.g. http://127.0.0.1:40123.
	Endpoint string
	// Addr is host:port of Endpoint, for proxies placed in front of it.
	Addr string
	// AccessKey and SecretKey are the root credentials, random per server.
	AccessKey, SecretKey string

	bin     string
	dataDir string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start launches MinIO on a free loopback port with a fresh data directory
// and random root credentials, waits until it is live, and stops it when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testbin.Find(t, "EFSSYNC_TEST_MINIO", "minio")
	port := freePort(t)
	dir := dataRoot(t)
	s := &Server{
		Addr:      net.JoinHostPort("127.0.0.1", port),
		AccessKey: "efs" + randHex(t, 8),
		SecretKey: randHex(t, 20),
		bin:       bin,
		dataDir:   filepath.Join(dir, "data"),
		logPath:   filepath.Join(dir, "minio.log"),
	}
	s.Endpoint = "http://" + s.Addr
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	t.Cleanup(s.Stop)
	s.start(t)
	return s
}

// Stop kills the server, as a crash or an outage would. It is idempotent and
// safe to call from cleanups.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart brings a stopped (or running) server back on the same port with
// the same data directory, so objects and unfinished uploads survive.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	cmd := exec.Command(s.bin, "server",
		"--address", s.Addr,
		"--certs-dir", filepath.Join(filepath.Dir(s.dataDir), "certs"),
		"--quiet", s.dataDir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// A static key enables SSE-S3 (AES256) without an external KMS.
		"MINIO_KMS_SECRET_KEY=efssync-test:"+testKMSKey,
	)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("miniotest: starting %s: %v", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	if err := s.waitReady(done); err != nil {
		s.Stop()
		t.Fatalf("miniotest: %v\n%s", err, s.logTail())
	}
}

// testKMSKey is a fixed 32-byte key (base64). It protects nothing: the data
// directory is a temp dir that dies with the test.
const testKMSKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func (s *Server) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// /minio/health/live answers as soon as HTTP is up, before the
		// object layer is: requests then fail with 503 "Server not
		// initialized yet" (seen under load). The cluster check answers 200
		// only once the drive can take writes.
		resp, err := client.Get(s.Endpoint + "/minio/health/cluster")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio at %s not ready after %s (last error: %v)", s.Addr, readyTimeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("minio at %s exited during startup", s.Addr)
		case <-tick.C:
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Client returns an S3 client with the root credentials, for test setup and
// for checking what a destination wrote independently of the code under test.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// Credentials returns a provider for the root credentials.
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
}

// CreateBucket creates a bucket, failing the test if it cannot.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("miniotest: create bucket %s: %v", name, err)
	}
}

// dataRoot returns a per-test directory for MinIO's drive. MinIO syncs every
// part to disk; on a shared CI disk that dominates test time, so a RAM
// file system (/dev/shm) is used when there is one. The data lives only as
// long as the test, so durability is irrelevant here.
func dataRoot(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "efssync-minio-")
		if err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) string { return freePort(t) }

func randHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	return strings.ToLower(hex.EncodeToString(b))
}
