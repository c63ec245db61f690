package s3src_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/s3src"
	"github.com/efssync/efssync/transfer/transfertest"
)

const mib = 1 << 20

// wire counts GET requests and the body bytes that came back, as they
// cross the HTTP transport (retries included).
type wire struct {
	next     http.RoundTripper
	gets     atomic.Int64
	bytes    atomic.Int64
	mu       sync.Mutex
	inFlight int
	maxPar   int
	broke    chan struct{} // gets a value when a body breaks off (if made)
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || r.URL.Query().Has("list-type") || r.URL.Query().Has("versions") || r.URL.Query().Has("tagging") {
		return w.next.RoundTrip(r)
	}
	w.gets.Add(1)
	w.mu.Lock()
	w.inFlight++
	w.maxPar = max(w.maxPar, w.inFlight)
	w.mu.Unlock()
	resp, err := w.next.RoundTrip(r)
	if err != nil {
		w.done()
		return nil, err
	}
	resp.Body = &countBody{ReadCloser: resp.Body, w: w}
	return resp, nil
}

func (w *wire) done() {
	w.mu.Lock()
	w.inFlight--
	w.mu.Unlock()
}

type countBody struct {
	io.ReadCloser
	w    *wire
	once sync.Once
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.bytes.Add(int64(n))
	if err != nil && err != io.EOF && b.w.broke != nil {
		select {
		case b.w.broke <- struct{}{}:
		default:
		}
	}
	return n, err
}

func (b *countBody) Close() error {
	b.once.Do(b.w.done)
	return b.ReadCloser.Close()
}

type env struct {
	srv    *miniotest.Server
	bucket string
	cl     *s3.Client
}

func newEnv(t *testing.T) *env {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "restore")
	return &env{srv: srv, bucket: "restore", cl: srv.Client()}
}

// source returns a Source on prefix with a wire counter.
func (e *env) source(t *testing.T, prefix string, mod func(*s3src.Options)) (*s3src.Source, *wire) {
	t.Helper()
	w := &wire{}
	opts := s3src.Options{
		Bucket: e.bucket, Prefix: prefix, PartSize: mib, PartConcurrency: 2, ListConcurrency: 3,
		Client: s3client.Options{
			Region: miniotest.Region, Endpoint: e.srv.Endpoint, PathStyle: true, Credentials: e.srv.Credentials(),
			MaxAttempts: 3, MaxBackoff: 50 * time.Millisecond, StallTimeout: 5 * time.Second,
			WrapTransport: func(rt http.RoundTripper) http.RoundTripper { w.next = rt; return w },
		},
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := s3src.New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, w
}

func (e *env) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if _, err := e.cl.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &key, Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// list collects a listing by relative path (bad keys by key).
func list(t *testing.T, s *s3src.Source) map[string]s3src.Object {
	t.Helper()
	out := make(chan s3src.Object, 4)
	errc := make(chan error, 1)
	go func() { errc <- s.List(t.Context(), out) }()
	got := map[string]s3src.Object{}
	for o := range out {
		name := o.Rel
		if o.Err != nil {
			name = "!" + o.Key
		}
		if _, dup := got[name]; dup {
			t.Errorf("%s listed twice", name)
		}
		got[name] = o
	}
	if err := <-errc; err != nil {
		t.Fatalf("List: %v", err)
	}
	return got
}

// lookup lists and returns one object.
func lookup(t *testing.T, s *s3src.Source, rel string) s3src.Object {
	t.Helper()
	o, ok := list(t, s)[rel]
	if !ok {
		t.Fatalf("%s not listed", rel)
	}
	return o
}

// drain reads r to the end and returns the bytes from Start, with nil at
// io.EOF or the error that ended the read; it checks chunks are in order.
func drain(ctx context.Context, r *s3src.Reader) ([]byte, error) {
	var buf bytes.Buffer
	next := r.Start()
	for {
		c, err := r.Next(ctx)
		if err == io.EOF {
			return buf.Bytes(), nil
		}
		if err != nil {
			return buf.Bytes(), err
		}
		if c.Off != next {
			return buf.Bytes(), fmt.Errorf("chunk at %d, expected %d", c.Off, next)
		}
		buf.Write(c.Data)
		next += int64(len(c.Data))
		c.Release()
	}
}

// readAll reads an object through Open and returns its bytes from Start.
func readAll(t *testing.T, s *s3src.Source, o s3src.Object, cp *s3src.Checkpoint) ([]byte, *s3src.Reader) {
	t.Helper()
	r, err := s.Open(t.Context(), o, cp)
	if err != nil {
		t.Fatalf("Open %s: %v", o.Key, err)
	}
	defer r.Close()
	b, err := drain(t.Context(), r)
	if err != nil {
		t.Fatalf("read %s: %v", o.Key, err)
	}
	return b, r
}

func TestS3Src(t *testing.T) {
	t.Parallel() // each top-level test has its own MinIO
	e := newEnv(t)
	t.Run("ListTree", func(t *testing.T) { testListTree(t, e) })
	t.Run("ArchiveRoundTrip", func(t *testing.T) { testRoundTrip(t, e) })
	t.Run("RangedReads", func(t *testing.T) { testRanged(t, e) })
	t.Run("Resume", func(t *testing.T) { testResume(t, e) })
	t.Run("Changed", func(t *testing.T) { testChanged(t, e) })
	t.Run("BadKeys", func(t *testing.T) { testBadKeys(t, e) })
	t.Run("Glacier", func(t *testing.T) { testGlacier(t, e) })
	t.Run("MaxBuffered", func(t *testing.T) { testMaxBuffered(t, e) })
}

func testListTree(t *testing.T, e *env) {
	want := map[string]int{}
	for i := range 40 {
		rel := fmt.Sprintf("d%d/e%d/f%d.ts", i%3, i%5, i)
		if i%7 == 0 {
			rel = fmt.Sprintf("top%d", i)
		}
		want[rel] = i
		e.put(t, "tree/"+rel, transfertest.Content(uint64(i), i))
	}
	e.put(t, "tree/d0/", nil)           // folder marker of another tool: a directory object
	e.put(t, "treeline/x", []byte("x")) // shares the text, not the prefix
	e.put(t, "other/y", []byte("y"))
	s, _ := e.source(t, "tree", nil)
	got := list(t, s)
	if m, ok := got["d0"]; !ok || !m.Dir || m.Key != "tree/d0/" {
		t.Errorf("folder marker tree/d0/ listed as %+v, want a directory object d0", m)
	}
	delete(got, "d0")
	if len(got) != len(want) {
		t.Fatalf("listed %d objects besides the marker, want %d: %v", len(got), len(want), keys(got))
	}
	for rel, i := range want {
		o, ok := got[rel]
		if !ok {
			t.Fatalf("%s not listed", rel)
		}
		if o.Key != "tree/"+rel || o.Size != int64(i) || o.ETag == "" || strings.Contains(o.ETag, `"`) ||
			o.LastModified.IsZero() || o.StorageClass != "STANDARD" || o.Err != nil {
			t.Errorf("%s listed as %+v", rel, o)
		}
	}
}

func keys(m map[string]s3src.Object) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// testRoundTrip archives files with s3dest and restores them byte for byte
// with their metadata: the round trip the restore exists for.
func testRoundTrip(t *testing.T, e *env) {
	d, err := s3dest.New(t.Context(), s3dest.Options{Bucket: e.bucket, Prefix: "rt", Region: miniotest.Region,
		Endpoint: e.srv.Endpoint, PathStyle: true, PartSize: s3dest.MinPartSize, Credentials: e.srv.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"small.txt":         transfertest.Content(1, 1000),
		"empty":             {},
		"rec/finished.mp4":  transfertest.Content(2, 2*s3dest.MinPartSize+321),
		"rec/growing.mp4":   transfertest.Content(3, s3dest.MinPartSize+5),
		"one-part-edge.bin": transfertest.Content(4, s3dest.MinPartSize),
	}
	for rel, data := range files {
		m := transfertest.Meta(data, true)
		begin := m
		if rel == "rec/growing.mp4" {
			begin.Hash = nil // began while the file was written: hash in tags
		}
		u, err := d.Begin(t.Context(), rel, begin, nil)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += mib {
			if err := u.Write(t.Context(), int64(off), data[off:min(off+mib, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := u.Commit(t.Context(), m); err != nil {
			t.Fatalf("Commit %s: %v", rel, err)
		}
	}
	s, w := e.source(t, "rt/", nil)
	listed := list(t, s)
	for rel, data := range files {
		o := listed[rel]
		before := w.gets.Load()
		got, r := readAll(t, s, o, nil)
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: restored %d bytes differ from the %d archived", rel, len(got), len(data))
		}
		m, want := r.Meta(), transfertest.Meta(data, true)
		if !m.ModTime.Equal(want.ModTime) || m.Mode != want.Mode || m.Size != int64(len(data)) || m.ETag != o.ETag {
			t.Errorf("%s: Meta %+v, want mtime %v mode %v", rel, m, want.ModTime, want.Mode)
		}
		wantHash := want.Hash
		if rel == "rec/growing.mp4" {
			wantHash = nil // in the efssync-blake3 tag, which GET does not return
			if th, err := s.TagHash(t.Context(), o); err != nil || !bytes.Equal(th, want.Hash) {
				t.Errorf("%s: TagHash = %x, %v; want %x", rel, th, err, want.Hash)
			}
		}
		if !bytes.Equal(m.Hash, wantHash) {
			t.Errorf("%s: Meta.Hash %x, want %x", rel, m.Hash, wantHash)
		}
		h := blake3.Sum256(got)
		if wantHash != nil && !bytes.Equal(h[:], m.Hash) {
			t.Errorf("%s: BLAKE3 of the restored bytes differs from the stored one", rel)
		}
		gets := w.gets.Load() - before
		multipart := len(data) >= s3dest.MinPartSize // s3dest fills a part, then completes
		nparts := int64((len(data) + s3dest.MinPartSize - 1) / s3dest.MinPartSize)
		switch {
		case !multipart && (gets != 1 || m.Checksum != "CRC32C"):
			t.Errorf("%s: %d GETs, checksum %q; want one GET verified by CRC32C", rel, gets, m.Checksum)
		case multipart && (gets != nparts || m.Checksum != "CRC32C per part"):
			t.Errorf("%s: %d GETs, checksum %q; want one GET per part, each verified by CRC32C", rel, gets, m.Checksum)
		}
	}
}

func testRanged(t *testing.T, e *env) {
	data := transfertest.Content(5, 3*mib+mib/2)
	e.put(t, "ranged/big.bin", data) // one PutObject: no parts to read by
	s, w := e.source(t, "ranged/", nil)
	o := lookup(t, s, "big.bin")
	got, r := readAll(t, s, o, nil)
	if !bytes.Equal(got, data) {
		t.Fatal("ranged read is not byte-exact")
	}
	if n := w.gets.Load(); n != 4 {
		t.Errorf("%d GETs for 3.5 parts, want 4", n)
	}
	if w.maxPar > 2 {
		t.Errorf("%d GETs in flight, PartConcurrency is 2", w.maxPar)
	}
	if r.Meta().Checksum != "" {
		t.Errorf("ranged read claims checksum %q, but S3 sends none for ranges", r.Meta().Checksum)
	}
}

// testResume stops reading after some chunks and continues from the
// checkpoint: only the missing ranges or parts are fetched again.
func testResume(t *testing.T, e *env) {
	d, err := s3dest.New(t.Context(), s3dest.Options{Bucket: e.bucket, Prefix: "resume", Region: miniotest.Region,
		Endpoint: e.srv.Endpoint, PathStyle: true, PartSize: s3dest.MinPartSize, Credentials: e.srv.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	mp := transfertest.Content(6, 4*s3dest.MinPartSize+7)
	u, _ := d.Begin(t.Context(), "mp.bin", transfertest.Meta(mp, true), nil)
	for off := 0; off < len(mp); off += mib {
		if err := u.Write(t.Context(), int64(off), mp[off:min(off+mib, len(mp))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Commit(t.Context(), transfertest.Meta(mp, true)); err != nil {
		t.Fatal(err)
	}
	e.put(t, "resume/plain.bin", mp[:5*mib+3])

	for _, c := range []struct {
		rel    string
		data   []byte
		chunks int
	}{{"mp.bin", mp, 2}, {"plain.bin", mp[:5*mib+3], 3}} {
		s, w := e.source(t, "resume/", nil)
		o := lookup(t, s, c.rel)
		r, err := s.Open(t.Context(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		var done int64
		for range c.chunks {
			ch, err := r.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			done = ch.Off + int64(len(ch.Data))
			ch.Release()
		}
		cp := r.Checkpoint(done - 10) // the last bytes were not durable
		r.Close()
		before := w.bytes.Load()
		got, r2 := readAll(t, s, o, &cp)
		start := r2.Start()
		if start > cp.Done || start == 0 {
			t.Fatalf("%s: resumed at %d, checkpoint at %d", c.rel, start, cp.Done)
		}
		if !bytes.Equal(got, c.data[start:]) {
			t.Fatalf("%s: resumed bytes differ", c.rel)
		}
		// What crossed the wire for the rest: the missing bytes plus at
		// most the part or range the checkpoint fell into.
		if sent := w.bytes.Load() - before; sent > int64(len(c.data))-cp.Done+s3dest.MinPartSize {
			t.Errorf("%s: %d bytes read to resume %d missing", c.rel, sent, int64(len(c.data))-cp.Done)
		}
		// A checkpoint of another version starts over.
		bad := cp
		bad.ETag = "0123"
		if _, r3 := readAll(t, s, o, &bad); r3.Start() != 0 {
			t.Errorf("%s: a checkpoint with another ETag resumed at %d", c.rel, r3.Start())
		}
	}
}

// testChanged replaces objects after they were listed: before Open, and
// between two parts of a read. Neither may yield a mix of versions.
func testChanged(t *testing.T, e *env) {
	old := transfertest.Content(7, 3*mib)
	e.put(t, "chg/a.bin", old)
	e.put(t, "chg/b.bin", old)
	s, _ := e.source(t, "chg/", func(o *s3src.Options) { o.PartConcurrency = 1 })
	listed := list(t, s)
	e.put(t, "chg/a.bin", transfertest.Content(8, 3*mib))
	if _, err := s.Open(t.Context(), listed["a.bin"], nil); !errors.Is(err, s3src.ErrChanged) || !strings.Contains(err.Error(), "chg/a.bin") {
		t.Fatalf("Open of a replaced object: %v, want ErrChanged naming the key", err)
	}
	r, err := s.Open(t.Context(), listed["b.bin"], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.Next(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e.put(t, "chg/b.bin", transfertest.Content(9, 3*mib))
	c.Release() // only now may the next range be fetched
	for err == nil {
		c, err = r.Next(t.Context())
		c.Release()
	}
	if !errors.Is(err, s3src.ErrChanged) {
		t.Fatalf("read across a replacement ended with %v, want ErrChanged", err)
	}
}

// testBadKeys puts keys that cannot be file names and checks that each one
// stored is an error for that object only. MinIO (unlike AWS S3) refuses
// all of these keys itself, so on MinIO this shows only that the good key
// beside them is listed; RelPath's unit and fuzz tests cover the mapping.
func testBadKeys(t *testing.T, e *env) {
	long := strings.Repeat("n", 256)
	stored := 0
	for _, k := range []string{"bad/a//b", "bad/./c", "bad/d/../e", "bad/" + long + "/f", "bad/" + long} {
		key := k
		if _, err := e.cl.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &key, Body: strings.NewReader("x")}); err != nil {
			t.Logf("MinIO refuses key %.40q: %v", key, err)
			continue
		}
		stored++
	}
	e.put(t, "bad/good", []byte("ok"))
	s, _ := e.source(t, "bad/", nil)
	got := list(t, s)
	if _, ok := got["good"]; !ok {
		t.Fatalf("good key not listed among %v", keys(got))
	}
	bad := 0
	for name, o := range got {
		if name == "good" {
			continue
		}
		bad++
		if !errors.Is(o.Err, s3src.ErrBadKey) || !strings.Contains(o.Err.Error(), fmt.Sprintf("%q", o.Key)) {
			t.Errorf("key %q: error %v, want ErrBadKey naming it", o.Key, o.Err)
		}
		if _, err := s.Open(t.Context(), o, nil); !errors.Is(err, s3src.ErrBadKey) {
			t.Errorf("Open of bad key %q: %v", o.Key, err)
		}
	}
	if bad != stored {
		t.Errorf("%d bad keys stored, %d reported", stored, bad)
	}
	t.Logf("MinIO stored %d of 5 non-file-name keys", stored)
}

// testGlacier checks what can be checked on MinIO, which has no archive
// classes: a restore request reaches S3 and its refusal names the key.
func testGlacier(t *testing.T, e *env) {
	e.put(t, "gl/x", []byte("x"))
	s, _ := e.source(t, "gl/", nil)
	o := lookup(t, s, "x")
	st, err := s.RestoreStatus(t.Context(), o)
	if err != nil || st != s3src.NotRestored {
		t.Fatalf("RestoreStatus of a STANDARD object = %v, %v", st, err)
	}
	st, err = s.RequestRestore(t.Context(), o, 3, "Bulk")
	t.Logf("RequestRestore on MinIO: %v, %v", st, err)
	if err != nil && (!strings.Contains(err.Error(), "gl/x") || transfer.IsFatal(err)) {
		t.Errorf("restore error %v does not name the key, or takes the whole source out", err)
	}
	o.StorageClass = "DEEP_ARCHIVE" // as S3 would list it
	_, err = s.Open(t.Context(), o, nil)
	var ae *s3src.ArchivedError
	if !errors.As(err, &ae) || ae.Class != "DEEP_ARCHIVE" || !strings.Contains(err.Error(), "gl/x") {
		t.Errorf("Open of an archived object: %v, want *ArchivedError naming key and class", err)
	}
}

// testMaxBuffered reads several objects at once under a byte budget smaller
// than what their Readers would fetch ahead: every read must complete,
// byte-exact, and a part larger than the whole budget is refused.
func testMaxBuffered(t *testing.T, e *env) {
	objs := map[string][]byte{}
	for i := range 4 {
		objs[fmt.Sprintf("o%d", i)] = transfertest.Content(uint64(40+i), 3*mib+i)
		e.put(t, fmt.Sprintf("budget/o%d", i), objs[fmt.Sprintf("o%d", i)])
	}
	s, w := e.source(t, "budget/", func(o *s3src.Options) { o.MaxBuffered = 2 * mib; o.PartConcurrency = 4 })
	listed := list(t, s)
	var wg sync.WaitGroup
	errs := make(chan string, len(objs))
	for rel, data := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Open(t.Context(), listed[rel], nil)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer r.Close()
			got, err := drain(t.Context(), r)
			switch {
			case err != nil:
				errs <- err.Error()
			case !bytes.Equal(got, data):
				errs <- rel + ": not byte-exact"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if w.gets.Load() != 15 {
		t.Errorf("%d GETs for 4 objects of 3 and 4 ranges, want 15", w.gets.Load())
	}
	small, _ := e.source(t, "budget/", func(o *s3src.Options) { o.MaxBuffered = mib / 2 })
	r, err := small.Open(t.Context(), listed["o0"], nil)
	if err == nil {
		_, err = r.Next(t.Context())
		r.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "max_buffered") {
		t.Errorf("a part larger than MaxBuffered: %v, want an error naming max_buffered", err)
	}
}
