package faultmatrix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/efssync/efssync/config"
	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/toxitest"
)

// faultProxy sits between Toxiproxy and MinIO: it answers the next fail
// requests with status (500 or 503 SlowDown, as S3 throttles) and
// signals the first upload request, so a case arms its fault only once
// data flows.
type faultProxy struct {
	rp       *httputil.ReverseProxy
	status   atomic.Int64
	fail     atomic.Int64
	failed   atomic.Int64
	uploads  atomic.Int64
	stored   atomic.Int64 // upload requests MinIO answered with success
	firstPut chan struct{}
	once     sync.Once
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		p.uploads.Add(1)
		p.once.Do(func() { close(p.firstPut) })
	}
	if left := p.fail.Load(); left > 0 && p.fail.CompareAndSwap(left, left-1) {
		p.failed.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		code, name := int(p.status.Load()), "InternalError"
		if code == http.StatusServiceUnavailable {
			name = "SlowDown"
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(code)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>injected</Message></Error>", name)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// s3World: the agent reaches MinIO through Toxiproxy, then the fault
// proxy; the source is a plain directory.
type s3World struct {
	srv    *miniotest.Server
	toxi   *toxitest.Proxy
	fp     *faultProxy
	toxic  string // the toxic a case added, for its clear
	bucket string
	src    string
	state  string
}

func newS3World(t *testing.T) *s3World {
	t.Helper()
	srv := miniotest.Start(t)
	w := &s3World{srv: srv, bucket: "matrix", src: t.TempDir(), state: t.TempDir()}
	srv.CreateBucket(t, w.bucket)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	up, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	w.fp = &faultProxy{rp: httputil.NewSingleHostReverseProxy(up), firstPut: make(chan struct{})}
	w.fp.rp.ErrorLog = log.New(io.Discard, "", 0) // a stopped MinIO is one of the faults
	w.fp.rp.ModifyResponse = func(r *http.Response) error {
		m := r.Request.Method
		if (m == http.MethodPut || m == http.MethodPost) && r.StatusCode < 300 {
			w.fp.stored.Add(1)
		}
		return nil
	}
	hs := &http.Server{Addr: "127.0.0.1:" + miniotest.FreePort(t), Handler: w.fp}
	ln, err := listen(hs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	w.toxi = toxitest.Start(t).Proxy(t, hs.Addr)
	return w
}

func (w *s3World) config(t *testing.T, mode string) *config.Config {
	j := config.Job{Name: "job", Source: w.src, Mode: mode, Delete: "mirror", MaxDelete: "100%",
		Destinations: []config.Destination{{Type: "s3", S3Location: config.S3Location{Bucket: w.bucket, Prefix: "rec", Endpoint: "http://" + w.toxi.Addr,
			PathStyle: true}, PartSize: 5 << 20}}}
	if mode == "watch" {
		j.Rescan = config.Duration(300e6)
		j.Quiet = config.Duration(200e6)
	}
	return finish(t, &config.Config{StateDir: w.state, Jobs: []config.Job{j}})
}

// objects reads every object under the prefix straight from MinIO, keyed
// by relative path.
func (w *s3World) objects(t *testing.T) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	c := w.srv.Client()
	out := map[string][]byte{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket), Prefix: aws.String("rec/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", w.bucket, err)
		}
		for _, o := range page.Contents {
			g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(w.bucket), Key: o.Key})
			var gone *types.NoSuchKey
			if errors.As(err, &gone) {
				continue // deleted (by a watch agent) since the listing
			}
			if err != nil {
				t.Fatalf("get %s: %v", *o.Key, err)
			}
			b, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				t.Fatalf("get %s: %v", *o.Key, err)
			}
			out[strings.TrimPrefix(*o.Key, "rec/")] = b
		}
	}
	return out
}

// equal reports whether the bucket holds exactly the source's files.
func (w *s3World) equal(t *testing.T) bool {
	t.Helper()
	a, err := files(w.src)
	if err != nil {
		t.Fatal(err)
	}
	b := w.objects(t)
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if string(v) != string(b[k]) {
			return false
		}
	}
	return true
}

// s3Fault is one row of the S3 matrix. arm starts the fault when the
// first upload request arrives; clear ends it (nil: it ends by itself).
type s3Fault struct {
	name  string
	arm   func(t *testing.T, w *s3World, stop func())
	clear func(t *testing.T, w *s3World)
}

// window is how long a network fault stays before the test removes it.
// Toxiproxy's faults never reach the fault proxy, so their end cannot be
// tied to a request count; the checks hold whatever the window.
const window = 400 * time.Millisecond

var s3Faults = []s3Fault{
	{name: "503 SlowDown", arm: func(t *testing.T, w *s3World, _ func()) {
		w.fp.status.Store(http.StatusServiceUnavailable)
		w.fp.fail.Store(6)
	}},
	{name: "500 InternalError", arm: func(t *testing.T, w *s3World, _ func()) {
		w.fp.status.Store(http.StatusInternalServerError)
		w.fp.fail.Store(6)
	}},
	{name: "connection reset", arm: func(t *testing.T, w *s3World, _ func()) {
		w.toxic = w.toxi.ResetPeer("upstream", 0)
	}, clear: func(t *testing.T, w *s3World) { w.toxi.Remove(w.toxic) }},
	{name: "stalled connection", arm: func(t *testing.T, w *s3World, _ func()) {
		w.toxic = w.toxi.Stall("upstream", 300)
	}, clear: func(t *testing.T, w *s3World) { w.toxi.Remove(w.toxic) }},
	{name: "MinIO restart", arm: func(t *testing.T, w *s3World, _ func()) {
		w.srv.Stop()
	}, clear: func(t *testing.T, w *s3World) { w.srv.Restart(t) }},
	{name: "agent restart", arm: func(t *testing.T, w *s3World, stop func()) { stop() }},
}

// load writes the case's files: small ones and two multipart ones.
func load(t *testing.T, src, sub string) {
	t.Helper()
	writeFiles(t, src, sub, 4)
	big := strings.Repeat(sub+"-big;", 11<<20/len(sub+"-big;"))
	writeFile(t, src, sub+"/big1.bin", big)
	writeFile(t, src, sub+"/big2.bin", big[:7<<20])
}

// TestS3FaultsOnce: a once-mode run meets each fault once data flows;
// after the fault clears, that run or the next converges, and no object
// ever holds bytes that are no version of the source.
func TestS3FaultsOnce(t *testing.T) {
	for _, c := range s3Faults {
		t.Run(c.name, func(t *testing.T) {
			w := newS3World(t)
			load(t, w.src, "a")
			h := history{}
			h.add(t, w.src)
			cfg := w.config(t, "once")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan bool, 1)
			go func() {
				ok, err := runOnce(ctx, t, cfg)
				if err != nil {
					t.Logf("the faulted run: %v", err)
				}
				done <- ok
			}()
			<-w.fp.firstPut
			c.arm(t, w, cancel)
			if c.clear != nil {
				time.Sleep(window)
				c.clear(t, w)
			}
			ok := <-done
			if bad := h.partials(t, w.objects(t)); len(bad) > 0 {
				t.Errorf("objects that are no version of the source: %v", bad)
			}
			if !ok {
				if ok, err := runOnce(context.Background(), t, cfg); !ok {
					t.Fatalf("the run after the fault cleared: %v", err)
				}
			}
			if !w.equal(t) {
				t.Errorf("the bucket does not hold the source")
			}
			if ok, err := runOnce(context.Background(), t, cfg); !ok || w.fp.uploads.Load() == 0 {
				t.Errorf("a last run: %v", err)
			}
		})
	}
}

// TestS3FaultsWatch: a watch-mode agent meets each fault while files
// arrive; after it clears, the agent (restarted, for "agent restart")
// converges, and nothing partial is ever an object.
func TestS3FaultsWatch(t *testing.T) {
	for _, c := range s3Faults {
		t.Run(c.name, func(t *testing.T) {
			w := newS3World(t)
			cfg := w.config(t, "watch")
			wa := startWatch(t, cfg)
			load(t, w.src, "a")
			h := history{}
			h.add(t, w.src)
			<-w.fp.firstPut
			c.arm(t, w, func() {
				if err := wa.stop(); err != nil {
					t.Logf("stopped watch run: %v", err)
				}
			})
			if c.clear != nil {
				time.Sleep(window)
				c.clear(t, w)
			}
			if c.name == "agent restart" {
				wa = startWatch(t, cfg)
			}
			eventually(t, "convergence after the fault cleared", func() bool { return w.equal(t) })
			if bad := h.partials(t, w.objects(t)); len(bad) > 0 {
				t.Errorf("objects that are no version of the source: %v", bad)
			}
			if err := wa.stop(); err != nil {
				t.Errorf("watch run: %v", err)
			}
		})
	}
}
