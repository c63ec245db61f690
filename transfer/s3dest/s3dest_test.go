package s3dest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/transfertest"
)

const partSize = s3dest.MinPartSize

// counter counts UploadPart requests per part number as they leave the
// client, retries included, so tests can prove a part was not sent again.
type counter struct {
	next     http.RoundTripper
	mu       sync.Mutex
	parts    map[string]int
	inFlight int // part uploads under way
	maxPar   int // most part uploads ever under way at once
	total    atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.total.Add(1)
	n := r.URL.Query().Get("partNumber")
	if n == "" || r.Method != http.MethodPut {
		return c.next.RoundTrip(r)
	}
	c.mu.Lock()
	c.parts[n]++
	c.inFlight++
	c.maxPar = max(c.maxPar, c.inFlight)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}()
	return c.next.RoundTrip(r)
}

// sent returns how often part n was uploaded.
func (c *counter) sent(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parts[fmt.Sprint(n)]
}

type env struct {
	srv    *miniotest.Server
	bucket string
	n      atomic.Int64
}

func newEnv(t *testing.T) *env {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "efssync")
	return &env{srv: srv, bucket: "efssync"}
}

// dest returns a Dest on a fresh prefix with a request counter; mod may
// change the options (endpoint, credentials, timeouts).
func (e *env) dest(t *testing.T, mod func(*s3dest.Options)) (*s3dest.Dest, *counter) {
	t.Helper()
	c := &counter{parts: map[string]int{}}
	opts := s3dest.Options{
		Bucket:       e.bucket,
		Prefix:       fmt.Sprintf("t%d/", e.n.Add(1)),
		Region:       miniotest.Region,
		Endpoint:     e.srv.Endpoint,
		PathStyle:    true,
		PartSize:     partSize,
		Credentials:  e.srv.Credentials(),
		MaxAttempts:  3,
		MaxBackoff:   100 * time.Millisecond,
		StallTimeout: 5 * time.Second,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			c.next = rt
			return c
		},
	}
	if mod != nil {
		mod(&opts)
	}
	d, err := s3dest.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, c
}

func TestS3Dest(t *testing.T) {
	t.Parallel() // each top-level test has its own MinIO
	e := newEnv(t)
	t.Run("Conformance", func(t *testing.T) {
		transfertest.RunTests(t, func(t *testing.T) transfer.Destination {
			d, _ := e.dest(t, nil)
			return d
		})
	})
	t.Run("ConformanceResume", func(t *testing.T) {
		transfertest.RunResumeTests(t, func(t *testing.T) transfer.Destination {
			d, _ := e.dest(t, nil)
			return d
		})
	})
	t.Run("Sizes", func(t *testing.T) { testSizes(t, e) })
	t.Run("MetadataTagsClass", func(t *testing.T) { testMetadata(t, e) })
	t.Run("PartConcurrency", func(t *testing.T) { testPartConcurrency(t, e) })
	t.Run("SplitParts", func(t *testing.T) { testSplitParts(t, e) })
	t.Run("ConnectionReuse", func(t *testing.T) { testConnectionReuse(t, e) })
	t.Run("NoDiagnosticHeaders", func(t *testing.T) { testNoDiagnosticHeaders(t, e) })
	t.Run("Resume", func(t *testing.T) { testResume(t, e) })
	t.Run("ResumeNoSuchUpload", func(t *testing.T) { testResumeGone(t, e) })
	t.Run("ResumeETagMismatch", func(t *testing.T) { testResumeMismatch(t, e) })
	t.Run("BadCredentials", func(t *testing.T) { testBadCredentials(t, e) })
	t.Run("MissingBucket", func(t *testing.T) { testMissingBucket(t, e) })
	t.Run("BadKeys", func(t *testing.T) { testBadKeys(t, e) })
	t.Run("CleanupOnlyUnderPrefix", func(t *testing.T) { testCleanupPrefix(t, e) })
	t.Run("BeginHash", func(t *testing.T) { testBeginHash(t, e) })
	t.Run("CommitVerifies", func(t *testing.T) { testCommitVerifies(t, e) })
	t.Run("CommitRefusesOtherChecksum", func(t *testing.T) { testCommitRefusesOtherChecksum(t, e) })
	t.Run("CommitWithoutChecksumAnswer", func(t *testing.T) { testCommitWithoutChecksumAnswer(t, e) })
	t.Run("EmptyDir", func(t *testing.T) { testEmptyDir(t, e) })
}

func meta(data []byte) transfer.Meta {
	h := blake3.Sum256(data)
	return transfer.Meta{
		Size:    int64(len(data)),
		Mode:    0o640,
		ModTime: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		UID:     -1, GID: -1,
		Hash: h[:],
	}
}

func writeChunks(t *testing.T, u transfer.Upload, data []byte, from, to int) {
	t.Helper()
	const chunk = 1 << 20
	for off := from; off < to; off += chunk {
		end := min(off+chunk, to)
		if err := u.Write(t.Context(), int64(off), data[off:end]); err != nil {
			t.Fatalf("Write at %d: %v", off, err)
		}
	}
}

func upload(t *testing.T, d *s3dest.Dest, rel string, data []byte) {
	t.Helper()
	u, err := d.Begin(t.Context(), rel, meta(data), nil)
	if err != nil {
		t.Fatalf("Begin %s: %v", rel, err)
	}
	writeChunks(t, u, data, 0, len(data))
	if err := u.Commit(t.Context(), meta(data)); err != nil {
		t.Fatalf("Commit %s: %v", rel, err)
	}
}

func checkObject(t *testing.T, d *s3dest.Dest, rel string, want []byte) {
	t.Helper()
	r, err := d.Open(t.Context(), rel)
	if err != nil {
		t.Fatalf("Open %s: %v", rel, err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: content differs: %d bytes, want %d", rel, len(got), len(want))
	}
	m, err := d.Stat(t.Context(), rel)
	if err != nil {
		t.Fatalf("Stat %s: %v", rel, err)
	}
	wm := meta(want)
	if m.Size != wm.Size || !bytes.Equal(m.Hash, wm.Hash) || !m.ModTime.Equal(wm.ModTime) || m.Mode != wm.Mode {
		t.Fatalf("Stat %s = size %d hash %x mtime %v mode %v; want %d %x %v %v",
			rel, m.Size, m.Hash, m.ModTime, m.Mode, wm.Size, wm.Hash, wm.ModTime, wm.Mode)
	}
}

func testSizes(t *testing.T, e *env) {
	d, c := e.dest(t, nil)
	cases := map[string]int{
		"empty":          0,
		"small":          1000,
		"one-part-minus": partSize - 1,
		"exact-part":     partSize,
		"exact-2-parts":  2 * partSize,
		"multipart":      2*partSize + 12345,
	}
	for name, n := range cases {
		data := transfertest.Content(uint64(n)+7, n)
		upload(t, d, "sizes/"+name, data)
		checkObject(t, d, "sizes/"+name, data)
	}
	// A growing file: its size is unknown (0) at Begin.
	data := transfertest.Content(99, 2*partSize+5)
	u, err := d.Begin(t.Context(), "sizes/growing", transfer.Meta{UID: -1, GID: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, u, data, 0, len(data))
	if err := u.Commit(t.Context(), meta(data)); err != nil {
		t.Fatalf("Commit growing: %v", err)
	}
	checkObject(t, d, "sizes/growing", data)
	// Only the files that filled a part used multipart: 1 + 2 + 3 + 3 parts.
	if got := c.sent(1); got != 4 {
		t.Errorf("part 1 sent %d times, want 4 (exact-part, exact-2-parts, multipart, growing)", got)
	}
	if got := c.sent(3); got != 2 {
		t.Errorf("part 3 sent %d times, want 2", got)
	}
}

func testMetadata(t *testing.T, e *env) {
	tags := map[string]string{"team": "video", "note": "a b=c/d"}
	d, _ := e.dest(t, func(o *s3dest.Options) {
		o.Tags = tags
		o.StorageClass = "REDUCED_REDUNDANCY"
		o.SSE = "AES256"
	})
	cl := e.srv.Client()
	for _, n := range []int{100, partSize + 100} {
		rel := fmt.Sprintf("meta/%d", n)
		data := transfertest.Content(3, n)
		upload(t, d, rel, data)
		checkObject(t, d, rel, data)
		key, _ := d.Key(rel)
		head, err := cl.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &e.bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		if head.StorageClass != "REDUCED_REDUNDANCY" {
			t.Errorf("%s: storage class %q", rel, head.StorageClass)
		}
		if head.ServerSideEncryption != "AES256" {
			t.Errorf("%s: SSE %q", rel, head.ServerSideEncryption)
		}
		tg, err := cl.GetObjectTagging(t.Context(), &s3.GetObjectTaggingInput{Bucket: &e.bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, x := range tg.TagSet {
			got[*x.Key] = *x.Value
		}
		for k, v := range tags {
			if got[k] != v {
				t.Errorf("%s: tag %s = %q, want %q (all: %v)", rel, k, got[k], v, got)
			}
		}
	}
}

func testPartConcurrency(t *testing.T, e *env) {
	d, c := e.dest(t, func(o *s3dest.Options) { o.PartConcurrency = 2 })
	data := transfertest.Content(31, 5*partSize)
	upload(t, d, "par.bin", data)
	checkObject(t, d, "par.bin", data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.maxPar > 2 {
		t.Errorf("%d parts in flight at once, PartConcurrency is 2", c.maxPar)
	}
}

// testSplitParts: a file of a few part_size parts is cut finer (21 MiB
// with 16 MiB × 2: four parts of 6 MiB, up to five in flight), lands
// byte-exact, and its composite checksum is the one Compute derives from
// the source with PartSizeFor, which the agent checks before it deletes an
// archived source.
func testSplitParts(t *testing.T, e *env) {
	const mib = 1 << 20
	d, c := e.dest(t, func(o *s3dest.Options) { o.PartSize, o.PartConcurrency = 16*mib, 2 })
	data := transfertest.Content(37, 21*mib)
	if got := d.PartSizeFor(int64(len(data))); got != 6*mib {
		t.Fatalf("PartSizeFor(21 MiB) = %d, want 6 MiB", got)
	}
	upload(t, d, "split.bin", data)
	checkObject(t, d, "split.bin", data)
	c.mu.Lock()
	parts, maxPar := len(c.parts), c.maxPar
	c.mu.Unlock()
	if parts != 4 || maxPar > 5 {
		t.Errorf("%d parts sent, at most %d at once; want 4, at most 5", parts, maxPar)
	}
	st, err := d.Checksum(t.Context(), "split.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s3dest.Compute(bytes.NewReader(data), int64(len(data)), st, d.PartSizeFor(int64(len(data))))
	if err != nil || got != st.Value {
		t.Fatalf("Compute with PartSizeFor: %q, %v; S3 stored %s %q", got, err, st.Algorithm, st.Value)
	}
}

// barrier holds callers until want of them have arrived, then lets them all
// go and starts over. A caller that waits a minute goes on anyway, so a
// retried request (which arrives a second time) fails the count instead of
// hanging the test.
type barrier struct {
	mu   sync.Mutex
	n    int
	want int
	ch   chan struct{}
}

func (b *barrier) wait() {
	b.mu.Lock()
	ch := b.ch
	b.n++
	if b.n == b.want {
		close(ch)
		b.ch, b.n = make(chan struct{}), 0
	}
	b.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(time.Minute):
	}
}

// dialCounter holds every PUT at a barrier, so that a round's requests are
// all in flight at once, and counts the requests that needed a new
// connection.
type dialCounter struct {
	next  http.RoundTripper
	b     *barrier
	fresh atomic.Int64
}

func (c *dialCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut {
		c.b.wait()
	}
	ctx := httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			c.fresh.Add(1)
		}
	}})
	return c.next.RoundTrip(r.WithContext(ctx))
}

// testConnectionReuse uploads rounds of small files, Concurrency of them at
// once, as the agent does: every round must find the connections of the
// last one idle in the pool. With the SDK's default of 10 idle connections
// per host, each round after the first dialled Concurrency-10 new ones.
func testConnectionReuse(t *testing.T, e *env) {
	const conc, rounds = 16, 5
	dc := &dialCounter{b: &barrier{want: conc, ch: make(chan struct{})}}
	d, _ := e.dest(t, func(o *s3dest.Options) {
		o.Concurrency = conc
		o.PartConcurrency = 1
		// Every request at once, as the barrier needs: the adaptive window
		// would hold some back (s3client's gate_test.go tests the window).
		o.MaxInFlight = -1
		o.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			dc.next = rt
			return dc
		}
	})
	for r := range rounds {
		var wg sync.WaitGroup
		for i := range conc {
			wg.Go(func() {
				data := transfertest.Content(uint64(r*conc+i), 1000+i)
				rel := fmt.Sprintf("reuse/%d/%d", r, i)
				u, err := d.Begin(t.Context(), rel, meta(data), nil)
				if err == nil {
					err = u.Write(t.Context(), 0, data)
				}
				if err == nil {
					err = u.Commit(t.Context(), meta(data))
				}
				if err != nil {
					t.Errorf("%s: %v", rel, err)
				}
			})
		}
		wg.Wait()
	}
	if got := dc.fresh.Load(); got > conc {
		t.Errorf("%d rounds of %d concurrent uploads opened %d connections, want at most %d", rounds, conc, got, conc)
	}
}

// headerRecorder records the header names of every request as sent.
type headerRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]int
	reqs int
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.reqs++
	for k := range r.Header {
		h.seen[http.CanonicalHeaderKey(k)]++
	}
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

// testNoDiagnosticHeaders checks that the SDK's per-request diagnostic
// headers stay off the wire while the requests, signed without them,
// still succeed — a small file (PutObject), a multipart one and a Stat.
func testNoDiagnosticHeaders(t *testing.T, e *env) {
	hr := &headerRecorder{seen: map[string]int{}}
	d, _ := e.dest(t, func(o *s3dest.Options) {
		o.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			hr.next = rt
			return hr
		}
	})
	for _, n := range []int{1000, partSize + 1} {
		rel := fmt.Sprintf("hdr/%d", n)
		data := transfertest.Content(uint64(n), n)
		upload(t, d, rel, data)
		checkObject(t, d, rel, data)
	}
	hr.mu.Lock()
	defer hr.mu.Unlock()
	for _, h := range []string{"Amz-Sdk-Invocation-Id", "Amz-Sdk-Request"} {
		if hr.seen[h] > 0 {
			t.Errorf("%d of %d requests carried %s", hr.seen[h], hr.reqs, h)
		}
	}
	if hr.seen["X-Amz-Checksum-Crc32c"] == 0 {
		t.Errorf("no request carried X-Amz-Checksum-Crc32c (headers seen: %v)", hr.seen)
	}
}

// roundTrip persists a checkpoint the way the agent does and reads it back.
func roundTrip(t *testing.T, cp *transfer.Checkpoint) *transfer.Checkpoint {
	t.Helper()
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var out transfer.Checkpoint
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// crashAfter writes the first n whole parts of data, waits for their
// acknowledgement and returns the checkpoint; the Upload is dropped without
// Abort, as a crash would.
func crashAfter(t *testing.T, d *s3dest.Dest, rel string, data []byte, n int) *transfer.Checkpoint {
	t.Helper()
	u, err := d.Begin(t.Context(), rel, meta(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, u, data, 0, n*partSize)
	if err := u.(*s3dest.Upload).Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	cp := u.Checkpoint()
	if cp == nil || len(cp.Parts) != n {
		t.Fatalf("checkpoint after %d parts: %+v", n, cp)
	}
	return roundTrip(t, cp)
}

func resumeAndCommit(t *testing.T, d *s3dest.Dest, rel string, data []byte, cp *transfer.Checkpoint) {
	t.Helper()
	u, err := d.Begin(t.Context(), rel, meta(data), cp)
	if err != nil {
		t.Fatalf("Begin with checkpoint: %v", err)
	}
	writeChunks(t, u, data, 0, len(data))
	if err := u.Commit(t.Context(), meta(data)); err != nil {
		t.Fatalf("Commit resumed: %v", err)
	}
	checkObject(t, d, rel, data)
}

func testResume(t *testing.T, e *env) {
	d, c := e.dest(t, nil)
	data := transfertest.Content(11, 4*partSize+777)
	cp := crashAfter(t, d, "resume/a.bin", data, 3)
	resumeAndCommit(t, d, "resume/a.bin", data, cp)
	for n := 1; n <= 3; n++ {
		if got := c.sent(n); got != 1 {
			t.Errorf("part %d sent %d times, want 1: an acknowledged part was sent again", n, got)
		}
	}
	if c.sent(4) != 1 || c.sent(5) != 1 {
		t.Errorf("parts 4, 5 sent %d, %d times, want 1 each", c.sent(4), c.sent(5))
	}
}

func testResumeGone(t *testing.T, e *env) {
	d, c := e.dest(t, nil)
	data := transfertest.Content(12, 2*partSize+1)
	cp := crashAfter(t, d, "resume/gone.bin", data, 1)
	if _, err := e.srv.Client().AbortMultipartUpload(t.Context(), &s3.AbortMultipartUploadInput{
		Bucket: &e.bucket, Key: &cp.Key, UploadId: &cp.UploadID,
	}); err != nil {
		t.Fatal(err)
	}
	resumeAndCommit(t, d, "resume/gone.bin", data, cp)
	if got := c.sent(1); got != 2 {
		t.Errorf("part 1 sent %d times, want 2 (the upload was gone)", got)
	}
}

func testResumeMismatch(t *testing.T, e *env) {
	d, c := e.dest(t, nil)
	data := transfertest.Content(13, 2*partSize+1)
	cp := crashAfter(t, d, "resume/mismatch.bin", data, 2)
	cp.Parts[1].ETag = `"0000"` // the server's part 2 is not what we recorded
	resumeAndCommit(t, d, "resume/mismatch.bin", data, cp)
	if c.sent(1) != 1 || c.sent(2) != 2 {
		t.Errorf("parts 1, 2 sent %d, %d times, want 1, 2", c.sent(1), c.sent(2))
	}
}

func testBadCredentials(t *testing.T, e *env) {
	const secret = "not-the-secret-1234567890"
	for name, creds := range map[string]aws.CredentialsProvider{
		"wrong secret": credentials.NewStaticCredentialsProvider(e.srv.AccessKey, secret, ""),
		"unknown key":  credentials.NewStaticCredentialsProvider("nobody-here", secret, ""),
	} {
		d, _ := e.dest(t, func(o *s3dest.Options) { o.Credentials = creds })
		data := []byte("hello")
		u, err := d.Begin(t.Context(), "x", meta(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, u, data, 0, len(data))
		err = u.Commit(t.Context(), meta(data))
		checkFatal(t, name+": Commit", err, e.bucket, secret, e.srv.SecretKey)
		_, err = d.Stat(t.Context(), "x")
		checkFatal(t, name+": Stat", err, e.bucket, secret, e.srv.SecretKey)
	}
}

func checkFatal(t *testing.T, what string, err error, bucket string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	if !transfer.IsFatal(err) {
		t.Errorf("%s: %v is not Fatal", what, err)
	}
	if !strings.Contains(err.Error(), "s3://"+bucket+"/") {
		t.Errorf("%s: %q does not name the bucket", what, err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%s: error message contains a secret: %q", what, err)
		}
	}
}

func testMissingBucket(t *testing.T, e *env) {
	d, _ := e.dest(t, func(o *s3dest.Options) { o.Bucket = "no-such-bucket" })
	data := transfertest.Content(1, partSize+1)
	u, err := d.Begin(t.Context(), "x", meta(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = u.Write(t.Context(), 0, data)
	checkFatal(t, "Write", err, "no-such-bucket")
	_, err = d.Stat(t.Context(), "x")
	if err == nil || errors.Is(err, fs.ErrNotExist) && !transfer.IsFatal(err) {
		t.Errorf("Stat in a missing bucket: %v, want a Fatal error", err)
	}
}

func testBadKeys(t *testing.T, e *env) {
	d, _ := e.dest(t, nil)
	long := strings.Repeat("a", 1100)
	if _, err := d.Begin(t.Context(), long, meta(nil), nil); err == nil || !strings.Contains(err.Error(), "1024") || !strings.Contains(err.Error(), "aaaa") {
		t.Errorf("Begin with a 1100-byte name: %v, want an error naming the path and the limit", err)
	}
	if _, err := d.Begin(t.Context(), "bad\xffname", meta(nil), nil); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("Begin with invalid UTF-8: %v", err)
	}
	// Just under the limit, with the prefix counted, is fine.
	// Exactly at the limit, with the prefix counted, is fine (in segments,
	// since MinIO keeps a segment as a file name of at most 255 bytes).
	key, _ := d.Key("x")
	want := 1024 - (len(key) - 1)
	ok := ""
	for len(ok) < want {
		if want-len(ok) > 201 {
			ok += strings.Repeat("b", 200) + "/"
		} else {
			ok += strings.Repeat("b", want-len(ok))
		}
	}
	if k, err := d.Key(ok); err != nil || len(k) != 1024 {
		t.Fatalf("Key of %d-byte path: %d bytes, %v", len(ok), len(k), err)
	}
	upload(t, d, ok, []byte("fits"))
}

func testCleanupPrefix(t *testing.T, e *env) {
	d1, _ := e.dest(t, nil)
	d2, _ := e.dest(t, nil)
	data := transfertest.Content(5, partSize+1)
	cp1 := crashAfter(t, d1, "c/one", data, 1)
	cp2 := crashAfter(t, d2, "c/two", data, 1)
	removed, err := d1.Cleanup(t.Context(), func(string) bool { return false })
	if err != nil || removed != 1 {
		t.Fatalf("Cleanup of d1: removed %d, %v; want 1", removed, err)
	}
	// d2's upload (another prefix) survived and still resumes.
	_ = cp1
	resumeAndCommit(t, d2, "c/two", data, cp2)
}
