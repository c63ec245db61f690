package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/zeebo/blake3"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/treetest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3client"
)

// s3Counter is a real HTTP reverse proxy in front of MinIO that counts
// object GETs (listings apart) and the response bytes it relays.
type s3Counter struct {
	URL   string
	gets  atomic.Int64
	lists atomic.Int64
	tags  atomic.Int64 // GetObjectTagging: a hash not in the metadata
	bytes atomic.Int64
	// once bytes reach mark, reached is closed (set before any request).
	mark    int64
	reached chan struct{}
	fired   atomic.Bool
}

// at closes ch once n bytes were relayed.
func (c *s3Counter) at(n int64, ch chan struct{}) { c.mark, c.reached = n, ch }

func newS3Counter(t *testing.T, srv *miniotest.Server) *s3Counter {
	c := &s3Counter{}
	target, err := url.Parse(srv.Endpoint)
	must(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // broken bodies are what the test makes
	rp.ModifyResponse = func(r *http.Response) error {
		r.Body = &countingBody{ReadCloser: r.Body, c: c}
		return nil
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.Method != http.MethodGet:
		case q.Has("list-type") || q.Has("versions") || q.Has("location"):
			c.lists.Add(1)
		case q.Has("tagging"):
			c.tags.Add(1)
		default:
			c.gets.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	c.URL = hs.URL
	return c
}

type countingBody struct {
	io.ReadCloser
	c *s3Counter
}

func (b *countingBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	c := b.c
	if n := c.bytes.Add(int64(k)); c.reached != nil && n >= c.mark && c.fired.CompareAndSwap(false, true) {
		close(c.reached)
	}
	return k, err
}

// restoreFixture is a restore job from s3://bucket/prefix through endpoint
// into ndest fresh directories, sharing the state of f's directory tree.
func restoreFixture(t *testing.T, bucket, prefix, endpoint string, ndest int, extra string) *fixture {
	r := newFixture(t, ndest)
	if !strings.Contains(extra, "part_size:") {
		extra = ", part_size: 5MiB" + extra
	}
	r.srcYAML = fmt.Sprintf("{type: s3, bucket: %s, prefix: %q, endpoint: %q, path_style: true%s}", bucket, prefix, endpoint, extra)
	return r
}

func runSummary(t *testing.T, f *fixture) (*Summary, string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.jsonl")
	a, err := New(f.config(), Options{ReportPath: report})
	must(t, err)
	defer a.Close()
	sum, err := a.Run(context.Background())
	must(t, err)
	b, _ := os.ReadFile(report)
	return sum, string(b)
}

// TestArchiveRestoreRoundTrip archives a tree with an S3 destination job,
// restores it with an S3 source job into two directories (each object read
// once), and finds both byte-exact with modes and mtimes; an unchanged
// re-run makes no GET; verify finds nothing, then a damaged copy.
func TestArchiveRestoreRoundTrip(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	treetest.Random(t, f.src, 2, 40, 20<<10)
	big := bytes.Repeat([]byte("restore me, byte for byte. "), (13<<20)/27) // multipart: three parts of 5 MiB
	must(t, os.MkdirAll(filepath.Join(f.src, "media"), 0o755))
	must(t, os.WriteFile(filepath.Join(f.src, "media", "big.mp4"), big, 0o640))
	treetest.Write(t, f.src, map[string]string{"empty": "", "deep/er/x.txt": "x"})
	must(t, os.Chmod(filepath.Join(f.src, "deep/er/x.txt"), 0o600))
	root := os.Geteuid() == 0 // only root can give a file away, or restore its owner
	if root {
		must(t, os.Lchown(filepath.Join(f.src, "deep/er/x.txt"), 1234, 5678))
		must(t, os.Lchown(filepath.Join(f.src, "media", "big.mp4"), 4321, 8765)) // multipart
	}
	old := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	must(t, os.Chtimes(filepath.Join(f.src, "empty"), old, old))
	if sum := f.run(Options{}); !sum.OK() || sum.Copied == 0 {
		t.Fatalf("archive: %+v", sum)
	}

	cnt := newS3Counter(t, srv)
	r := restoreFixture(t, bucket, "rec", cnt.URL, 2, "")
	sum, rep := runSummary(t, r)
	if !sum.OK() || sum.Copied != sum.Files || sum.Files < 40 {
		t.Fatalf("restore: %+v\n%s", sum, rep)
	}
	for _, d := range r.dests {
		treetest.Equal(t, f.src, d)
		if root {
			wantOwner(t, filepath.Join(d, "deep/er/x.txt"), 1234, 5678)
			wantOwner(t, filepath.Join(d, "media", "big.mp4"), 4321, 8765)
		}
	}
	if got := cnt.gets.Load(); got < sum.Files || got > sum.Files+3 {
		t.Errorf("restore of %d objects into 2 destinations made %d GETs; each object is read once", sum.Files, got)
	}
	if got := cnt.tags.Load(); got != 0 {
		t.Errorf("restore read %d tag sets; archived finished files carry their BLAKE3 as metadata", got)
	}

	before := cnt.gets.Load()
	if sum, rep = runSummary(t, r); !sum.OK() || sum.Copied != 0 || sum.Skipped != sum.Files || sum.Opened != 0 {
		t.Fatalf("unchanged re-run: %+v\n%s", sum, rep)
	}
	if n := cnt.gets.Load() - before; n != 0 {
		t.Fatalf("unchanged re-run made %d GETs, want none beyond the listing", n)
	}

	a, err := New(r.config(), Options{})
	must(t, err)
	var out bytes.Buffer
	n, err := a.Verify(context.Background(), &out)
	a.Close()
	if err != nil || n != 0 {
		t.Fatalf("verify after restore: %d differences, %v\n%s", n, err, out.String())
	}
	must(t, os.WriteFile(filepath.Join(r.dests[1], "deep/er/x.txt"), []byte("y"), 0o600))
	a, err = New(r.config(), Options{})
	must(t, err)
	out.Reset()
	n, err = a.Verify(context.Background(), &out)
	a.Close()
	if err != nil || n != 1 || !strings.Contains(out.String(), "deep/er/x.txt") {
		t.Fatalf("verify of a damaged copy: %d differences, %v\n%s", n, err, out.String())
	}
}

// TestRestoreRefusesMirrorOnEmptyListing: a prefix that lists nothing must
// never be read as "delete everything"; a real listing deletes what the
// bucket no longer has.
func TestRestoreRefusesMirrorOnEmptyListing(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "mirror")
	setS3Env(t, srv)
	put(t, srv, "mirror", "p/keep.txt", "keep")
	r := restoreFixture(t, "mirror", "nothing-here", srv.Endpoint, 1, "")
	r.extra = "    delete: mirror\n"
	treetest.Write(t, r.dests[0], map[string]string{"precious": "p", "d/also": "a"})
	sum, _ := runSummary(t, r)
	if len(sum.JobErrors) != 1 || !errors.Is(sum.JobErrors[0], ErrDeleteRefused) {
		t.Fatalf("empty listing with mirror: %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(r.dests[0], "precious")); err != nil {
		t.Fatal("an empty listing deleted files")
	}
	r.srcYAML = strings.Replace(r.srcYAML, "nothing-here", "p", 1)
	r.extra = "    delete: mirror\n    max_delete: 100%\n    verify: all\n"
	if sum, rep := runSummary(t, r); !sum.OK() || sum.Deleted != 3 || sum.Copied != 1 {
		t.Fatalf("mirror restore: %+v\n%s", sum, rep)
	}
	wantFiles(t, r.dests[0], map[string]string{"keep.txt": "keep"})
}

// TestRestoreAsOf restores from a versioned bucket what was current at a
// point in time, after a bad overwrite and a delete.
func TestRestoreAsOf(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "versioned")
	setS3Env(t, srv)
	cl := srv.Client()
	_, err := cl.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String("versioned"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	must(t, err)
	put(t, srv, "versioned", "m/a", "a good")
	put(t, srv, "versioned", "m/d/b", "b good")
	head, err := cl.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("versioned"), Key: aws.String("m/d/b")})
	must(t, err)
	// Last-Modified has whole seconds: the write was before the next one.
	asOf := aws.ToTime(head.LastModified).Add(time.Second)
	for { // what follows must be strictly newer than as_of
		put(t, srv, "versioned", "tick", "t")
		h, err := cl.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("versioned"), Key: aws.String("tick")})
		must(t, err)
		if aws.ToTime(h.LastModified).After(asOf) {
			break
		}
		time.Sleep(100 * time.Millisecond) // MinIO's clock, not ours: nothing to inject
	}
	put(t, srv, "versioned", "m/a", "a BAD")
	_, err = cl.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String("versioned"), Key: aws.String("m/d/b")})
	must(t, err)
	put(t, srv, "versioned", "m/new", "after")
	r := restoreFixture(t, "versioned", "m", srv.Endpoint, 1, fmt.Sprintf(", as_of: %q", asOf.Format(time.RFC3339Nano)))
	if sum, rep := runSummary(t, r); !sum.OK() || sum.Copied != 2 {
		t.Fatalf("as_of restore: %+v\n%s", sum, rep)
	}
	wantFiles(t, r.dests[0], map[string]string{"a": "a good", "d/b": "b good"})
}

// TestRestoreRefusesWrongBLAKE3: an object whose bytes do not hash to the
// BLAKE3 stored with it is an error for that object, and nothing is
// published under its name (nor left in a temp file); the others restore.
func TestRestoreRefusesWrongBLAKE3(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "hashes")
	setS3Env(t, srv)
	wrong := blake3.Sum256([]byte("something else"))
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("hashes"), Key: aws.String("h/bad"),
		Body: strings.NewReader("the bytes"), Metadata: s3client.EncodeMeta(transfer.Meta{Mode: 0o644, Hash: wrong[:]}, true)})
	must(t, err)
	put(t, srv, "hashes", "h/good", "fine")
	r := restoreFixture(t, "hashes", "h", srv.Endpoint, 1, "")
	s, rep := runSummary(t, r)
	if s.Failed != 1 || s.Copied != 1 || !strings.Contains(rep, "BLAKE3") {
		t.Fatalf("restore with a wrong BLAKE3: %+v\n%s", s, rep)
	}
	wantFiles(t, r.dests[0], map[string]string{"good": "fine"})
}

// wantOwner checks the owner of p.
func wantOwner(t *testing.T, p string, uid, gid uint32) {
	t.Helper()
	var st syscall.Stat_t
	must(t, syscall.Lstat(p, &st))
	if st.Uid != uid || st.Gid != gid {
		t.Errorf("%s is owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
	}
}

func setS3Env(t *testing.T, srv *miniotest.Server) {
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func put(t *testing.T, srv *miniotest.Server, bucket, key, body string) {
	t.Helper()
	_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(body)})
	must(t, err)
}

// wantFiles checks that dir holds exactly these regular files. The mtime
// of an object efssync did not write is its LastModified: not compared.
func wantFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	got := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	if !maps.Equal(got, files) {
		t.Fatalf("%s holds %v, want %v", dir, got, files)
	}
}
