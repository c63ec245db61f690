package s3client

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/toxitest"
)

// inFlight counts the requests under the gate that have not been answered.
type inFlight struct {
	next      http.RoundTripper
	cur, peak atomic.Int64
}

func (c *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.cur.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	defer c.cur.Add(-1)
	return c.next.RoundTrip(r)
}

// gateClient is an S3 client for srv through proxy with the gate of
// maxInFlight, and the gate and counter beneath it.
func gateClient(t *testing.T, srv *miniotest.Server, proxy string, maxInFlight int) (*s3.Client, *gate, *inFlight) {
	var count *inFlight
	hc := newHTTPClient(nil, Options{MaxInFlight: maxInFlight, StallTimeout: 60e9, IdleConns: maxInFlight,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { count = &inFlight{next: rt}; return count }})
	g, ok := hc.Transport.(*gate)
	if !ok {
		t.Fatalf("transport %T, want the gate outermost", hc.Transport)
	}
	c := s3.New(s3.Options{HTTPClient: hc, BaseEndpoint: aws.String("http://" + proxy), UsePathStyle: true,
		Region: miniotest.Region, Credentials: srv.Credentials()})
	return c, g, count
}

// TestGateBoundsRequests: through a link with 20 ms of latency, 200
// concurrent PUTs of small objects and then their GETs all succeed, and
// never more than MaxInFlight of them wait for S3 at once; the window
// stays within its bounds.
func TestGateBoundsRequests(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "gate")
	p := toxitest.Start(t).Proxy(t, srv.Addr)
	p.Latency("downstream", 20, 0)
	const maxInFlight = 12
	c, g, count := gateClient(t, srv, p.Addr, maxInFlight)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 200 {
		wg.Go(func() {
			key := fmt.Sprintf("o/%d", i)
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("gate"), Key: aws.String(key), Body: bytes.NewReader([]byte(key))}); err != nil {
				errs <- err
				return
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("gate"), Key: aws.String(key)})
			if err != nil {
				errs <- err
				return
			}
			out.Body.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if peak := count.peak.Load(); peak > maxInFlight || peak < 1 {
		t.Fatalf("peak requests in flight %d, want 1..%d", peak, maxInFlight)
	}
	if s := g.size(); s < minInFlight || s > maxInFlight {
		t.Fatalf("window %d outside [%d, %d]", s, minInFlight, maxInFlight)
	}
}

// TestGateCancelReleases: requests whose context ends while they wait at
// the gate or hang at a stalled server give their slots back: afterwards
// no slot is held and no waiter queued, and the next requests go through.
func TestGateCancelReleases(t *testing.T) {
	t.Parallel()
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "gate")
	p := toxitest.Start(t).Proxy(t, srv.Addr)
	c, g, _ := gateClient(t, srv, p.Addr, 8)
	stall := p.Stall("downstream", 0)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 30 {
		wg.Go(func() {
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("gate")}); err != nil {
				failed.Add(1)
			}
		})
	}
	cancel()
	wg.Wait()
	if failed.Load() != 30 {
		t.Fatalf("%d of 30 requests to a stalled server failed, want all (cancelled)", failed.Load())
	}
	g.mu.Lock()
	inUse, waiting := g.inUse, len(g.waiters)
	g.mu.Unlock()
	if inUse != 0 || waiting != 0 {
		t.Fatalf("after cancelling: %d slots held, %d waiters, want none", inUse, waiting)
	}

	p.Remove(stall)
	for range 3 * 8 {
		wg.Go(func() {
			if _, err := c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("gate")}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
