package agent

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/efssync/efssync/internal/treetest"
)

// s3Requests counts the requests that pass a reverse proxy in front of a
// real MinIO, by kind: object HEAD, LIST, PUT.
type s3Requests struct {
	mu sync.Mutex
	n  map[string]int
}

// proxy starts the counting proxy and returns its URL, the endpoint to
// configure.
func (c *s3Requests) proxy(t *testing.T, endpoint string) string {
	target, err := url.Parse(endpoint)
	must(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	c.n = map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Method
		switch {
		case r.URL.Query().Has("list-type"):
			k = "LIST"
		case r.Method == http.MethodHead && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0:
			k = "HEAD bucket"
		}
		c.mu.Lock()
		c.n[k]++
		c.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (c *s3Requests) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// A first copy into an empty S3 prefix asks once per top-level directory
// whether anything is stored below it, instead of a HEAD per file looking
// for an object to adopt; and verify: transferred reads back only the
// first object (whether the store keeps its metadata), the others are
// confirmed by the CRC32C in S3's answers. Objects already there are
// still found and adopted.
func TestFirstCopyToS3MakesNoHeadPerFile(t *testing.T) {
	f, srv, bucket := s3Fixture(t, 0)
	var c s3Requests
	f.s3 = fmt.Sprintf("      - {type: s3, bucket: %s, prefix: rec, endpoint: %q, path_style: true, part_size: 5MiB}\n", bucket, c.proxy(t, srv.Endpoint))
	const files = 30
	// Files at the top of the source too: the empty prefix is listed once for all.
	const top = 3
	treetest.Random(t, f.src, 4, files, 4<<10) // d00..d06/subN/fNNNNN.bin
	treetest.Write(t, f.src, map[string]string{"top1": "1", "top2": "2", "top3": "3"})
	if sum := f.run(Options{}); !sum.OK() || sum.Copied != files+top {
		t.Fatalf("first run: %+v", sum)
	}
	got := c.take()
	if got["PUT"] != files+top || got["HEAD"] != 1 || got["LIST"] != 1 {
		t.Errorf("first copy of %d files in the root and 7 top-level directories: requests %v, want %d PUT, 1 HEAD, 1 LIST (the empty prefix)",
			files+top, got, files+top)
	}

	// A new directory next to objects already stored (the manifest moved
	// aside): what is there is adopted after a HEAD, the rest is sent.
	m := f.config().Manifest
	must(t, os.Rename(m, m+".aside"))
	treetest.Write(t, f.src, map[string]string{"new/a": "a", "new/b": "b"})
	sum := f.run(Options{})
	if !sum.OK() || sum.Adopted != files+top || sum.Copied != 2 {
		t.Fatalf("run after the manifest was moved aside: %+v", sum)
	}
	got = c.take()
	if got["PUT"] != 2 || got["HEAD"] != files+top+1 {
		t.Errorf("requests %v, want 2 PUT and %d HEAD (one per stored object, one confirming the metadata)", got, files+top+1)
	}
}
