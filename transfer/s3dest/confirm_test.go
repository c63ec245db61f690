package s3dest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/transfertest"
)

// answers counts HEAD requests and may rewrite the x-amz-checksum-crc32c
// S3 names in its answers, as a store that stored other bytes, or one that
// keeps no checksums, would answer.
type answers struct {
	next    http.RoundTripper
	rewrite func(string) string // nil: answers pass unchanged
	mu      sync.Mutex
	heads   int
	lists   int
}

func (a *answers) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	switch {
	case r.Method == http.MethodHead:
		a.heads++
	case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
		a.lists++
	}
	a.mu.Unlock()
	resp, err := a.next.RoundTrip(r)
	if err != nil || a.rewrite == nil || r.Method == http.MethodHead {
		return resp, err
	}
	const h = "X-Amz-Checksum-Crc32c"
	if v := a.rewrite(resp.Header.Get(h)); v == "" {
		resp.Header.Del(h)
	} else {
		resp.Header.Set(h, v)
	}
	if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
		// CompleteMultipartUpload names the checksum in its XML body.
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		body = crc32cElement.ReplaceAllFunc(body, func(m []byte) []byte {
			v := a.rewrite(string(crc32cElement.FindSubmatch(m)[1]))
			if v == "" {
				return nil
			}
			return []byte("<ChecksumCRC32C>" + v + "</ChecksumCRC32C>")
		})
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
	}
	return resp, nil
}

var crc32cElement = regexp.MustCompile(`<ChecksumCRC32C>([^<]*)</ChecksumCRC32C>`)

func (a *answers) counts() (heads, lists int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.heads, a.lists
}

func (e *env) answering(t *testing.T, rewrite func(string) string) (*s3dest.Dest, *answers) {
	a := &answers{rewrite: rewrite}
	d, _ := e.dest(t, func(o *s3dest.Options) {
		o.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			a.next = rt
			return a
		}
	})
	return d, a
}

// testCommitVerifies checks that Commit proves what it published, so
// verify: transferred needs no HEAD per object: the first object is read
// back once (the store keeps metadata as sent), later ones are confirmed by
// the CRC32C S3 names in its answer, for PutObject and for a multipart
// upload (composite) alike.
func testCommitVerifies(t *testing.T, e *env) {
	d, a := e.answering(t, nil)
	sizes := []int{1000, 0, 4096, 2*partSize + 17}
	for i, n := range sizes {
		upload(t, d, fmt.Sprintf("v/%d", i), transfertest.Content(uint64(n)+3, n))
	}
	if heads, _ := a.counts(); heads != 1 {
		t.Errorf("%d HEADs for %d commits, want 1 (the first object's metadata)", heads, len(sizes))
	}
	for i, n := range sizes {
		checkObject(t, d, fmt.Sprintf("v/%d", i), transfertest.Content(uint64(n)+3, n))
	}

	// A growing file's multipart upload: its hash goes into tags, and the
	// composite checksum of the completion is still compared.
	data := transfertest.Content(5, partSize+9)
	u, err := d.Begin(t.Context(), "v/growing", transfer.Meta{UID: -1, GID: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, u, data, 0, len(data))
	if err := u.Commit(t.Context(), meta(data)); err != nil {
		t.Fatalf("Commit growing: %v", err)
	}
	checkObject(t, d, "v/growing", data)
}

// testCommitRefusesOtherChecksum: when S3 names a CRC32C other than the
// one sent, Commit fails naming both, for a small and a multipart object.
func testCommitRefusesOtherChecksum(t *testing.T, e *env) {
	d, _ := e.answering(t, func(v string) string {
		if v == "" {
			return ""
		}
		return "AAAAAA==" + v[8:]
	})
	for _, n := range []int{1000, partSize + 1} {
		data := transfertest.Content(uint64(n), n)
		u, err := d.Begin(t.Context(), fmt.Sprint("bad/", n), meta(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, u, data, 0, len(data))
		err = u.Commit(t.Context(), meta(data))
		if err == nil || !strings.Contains(err.Error(), "S3 stored CRC32C AAAAAA==") {
			t.Errorf("%d bytes: Commit = %v, want an error naming the stored CRC32C", n, err)
		}
		_ = u.Abort(t.Context())
	}
}

// testCommitWithoutChecksumAnswer: a store that names no checksum in its
// answers gets a HEAD after every object, as verify: transferred made.
func testCommitWithoutChecksumAnswer(t *testing.T, e *env) {
	d, a := e.answering(t, func(string) string { return "" })
	for i := range 3 {
		data := transfertest.Content(uint64(i), 500+i)
		upload(t, d, fmt.Sprint("plain/", i), data)
	}
	if heads, _ := a.counts(); heads != 3 {
		t.Errorf("%d HEADs for 3 commits without a checksum in the answer, want 3", heads)
	}
}

// testEmptyDir: a directory is empty until an object is stored below it;
// an object named like the directory, or one under a longer name sharing
// its start, does not count.
func testEmptyDir(t *testing.T, e *env) {
	d, a := e.answering(t, nil)
	empty := func(rel string, want bool) {
		t.Helper()
		got, err := d.EmptyDir(t.Context(), rel)
		if err != nil || got != want {
			t.Errorf("EmptyDir(%q) = %v, %v; want %v", rel, got, err, want)
		}
	}
	empty(".", true) // the root: the whole prefix
	empty("a", true)
	upload(t, d, "a/b/c", []byte("x"))
	upload(t, d, "ab", []byte("y"))
	upload(t, d, "d", []byte("z"))
	empty("a", false)
	empty("a/b", false)
	empty("a/b/c", true)
	empty("d", true)
	empty("e", true)
	empty(".", false)
	if _, lists := a.counts(); lists != 8 {
		t.Errorf("%d listings for 8 EmptyDir calls", lists)
	}
	for _, bad := range []string{"../x", ""} {
		if _, err := d.EmptyDir(t.Context(), bad); err == nil {
			t.Errorf("EmptyDir(%q) succeeded", bad)
		}
	}
}
