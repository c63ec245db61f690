package agent

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/toxitest"
	"github.com/efssync/efssync/transfer/transfertest"
)

// TestRestoreThroughResetMidGET resets every connection between the agent
// and MinIO (Toxiproxy reset_peer) while the bodies of a full restore are
// arriving: broken GETs are continued, and the restore ends byte-exact
// with nothing failed.
func TestRestoreThroughResetMidGET(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "faults")
	setS3Env(t, srv)
	tox := toxitest.Start(t)
	p := tox.Proxy(t, srv.Addr)
	// Bodies arrive in 16 kB slices 2 ms apart, so GETs are mid-body
	// when the reset comes.
	p.Add("slicer", "slicer", "downstream", map[string]any{"average_size": 16 << 10, "size_variation": 0, "delay": 2_000})
	want := map[string][]byte{}
	for i := range 6 {
		rel := fmt.Sprintf("d%d/f%d.bin", i%2, i)
		want[rel] = transfertest.Content(uint64(i+1), (i+1)<<20+i*777)
		_, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("faults"),
			Key: aws.String("t/" + rel), Body: bytes.NewReader(want[rel])})
		must(t, err)
	}
	// A relay in front of Toxiproxy sees the bytes arrive: after 1 MiB the
	// links are reset, and the reset is taken away once a body broke.
	target, err := url.Parse("http://" + p.Addr)
	must(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // broken bodies are what the test makes
	var mu sync.Mutex
	var seen int64
	reset := ""
	broke := make(chan struct{}, 1)
	rp.ModifyResponse = func(r *http.Response) error {
		r.Body = &tripBody{ReadCloser: r.Body, onByte: func(n int) {
			mu.Lock()
			defer mu.Unlock()
			if seen += int64(n); seen >= 1<<20 && reset == "" {
				reset = p.ResetPeer("downstream", 0)
			}
		}, onErr: func() {
			select {
			case broke <- struct{}{}:
			default:
			}
		}}
		return nil
	}
	hs := httptest.NewServer(rp)
	t.Cleanup(hs.Close)
	go func() {
		<-broke
		p.Remove("reset_downstream")
	}()
	r := restoreFixture(t, "faults", "t", hs.URL, 2, ", part_size: 1MiB, part_concurrency: 3")
	s, rep := runSummary(t, r)
	if !s.OK() || s.Copied != 6 {
		t.Fatalf("restore through resets: %+v\n%s", s, rep)
	}
	mu.Lock()
	installed := reset != ""
	mu.Unlock()
	if !installed {
		t.Fatal("the reset was never installed")
	}
	for _, d := range r.dests {
		for rel, b := range want {
			got, err := os.ReadFile(filepath.Join(d, rel))
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("%s/%s after resets: %v, equal %v", d, rel, err, bytes.Equal(got, b))
			}
		}
	}
}

// tripBody reports every read's size and a body that broke off.
type tripBody struct {
	io.ReadCloser
	onByte func(int)
	onErr  func()
}

func (b *tripBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.onByte(n)
	if err != nil && err != io.EOF {
		b.onErr()
	}
	return n, err
}
