package s3src_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/efssync/efssync/internal/toxitest"
	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/s3src"
	"github.com/efssync/efssync/transfer/transfertest"
)

// TestFaults injects real network faults (Toxiproxy) between the reader
// and a real MinIO, and damages bytes in flight: a read must end in the
// exact bytes or in a clean, retriable error naming the object.
func TestFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tox := toxitest.Start(t)
	data := transfertest.Content(31, 3*mib+12345)
	e.put(t, "f/big.bin", data)

	through := func(t *testing.T) (*s3src.Source, *wire, *toxitest.Proxy) {
		p := tox.Proxy(t, e.srv.Addr)
		s, w := e.source(t, "f/", func(o *s3src.Options) {
			o.Client.Endpoint = "http://" + p.Addr
			o.Client.MaxAttempts = 8
			o.Client.StallTimeout = time.Second
			// Backoff is the SDK's jitter (up to 30 s between attempts by
			// default); the stall cut is what is tested here.
			o.Client.MaxBackoff = 100 * time.Millisecond
		})
		return s, w, p
	}

	t.Run("ResetMidGET", func(t *testing.T) {
		s, w, p := through(t)
		w.broke = make(chan struct{}, 1)
		o := lookup(t, s, "big.bin")
		// The body comes in 16 kB slices 10 ms apart (about 1.6 MB/s), so
		// the first ranges are still arriving when the links are reset.
		p.Add("slicer", "slicer", "downstream", map[string]any{"average_size": 16 << 10, "size_variation": 0, "delay": 10_000})
		r, err := s.Open(t.Context(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		reset := p.ResetPeer("downstream", 0) // RST at the next byte
		select {
		case <-w.broke:
		case <-t.Context().Done():
			t.Fatal("no body broke off")
		}
		p.Remove(reset)
		got, err := drain(t.Context(), r)
		if err != nil {
			t.Fatalf("read through a reset: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("read through a reset is not byte-exact")
		}
		// A broken body is continued, not fetched again from its start.
		if b := w.bytes.Load(); b != int64(len(data)) {
			t.Errorf("%d body bytes on the wire for %d: broken ranges were read again", b, len(data))
		}
	})

	t.Run("ClosedMidGET", func(t *testing.T) {
		s, w, p := through(t)
		o := lookup(t, s, "big.bin")
		p.LimitData("downstream", 400_000) // every connection ends after 400 kB
		got, _ := readAll(t, s, o, nil)
		if !bytes.Equal(got, data) {
			t.Fatal("read through closed connections is not byte-exact")
		}
		if b := w.bytes.Load(); b != int64(len(data)) {
			t.Errorf("%d body bytes on the wire for %d: broken ranges were read again", b, len(data))
		}
	})

	t.Run("StallMidGET", func(t *testing.T) {
		s, w, p := through(t)
		o := lookup(t, s, "big.bin")
		r, err := s.Open(t.Context(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		stall := p.Stall("downstream", 0)
		before := w.gets.Load()
		_, rerr := drain(t.Context(), r)
		r.Close()
		if rerr == nil {
			t.Skip("the read finished before the stall took hold") // a 1 MiB range fits the socket buffers
		}
		if !transfer.IsRetriable(rerr) || !strings.Contains(rerr.Error(), "f/big.bin") {
			t.Errorf("stalled read: %v, want a Retriable error naming the key", rerr)
		}
		// Each unit in flight: its stalled body, then one continuation
		// that the SDK tries MaxAttempts times. The body loop must not try
		// the continuation again: the two levels would multiply.
		if n, most := w.gets.Load()-before, int64(2*(8+1)); n > most {
			t.Errorf("a stalled read made %d GET attempts, want at most %d (PartConcurrency 2 units, 1 + 8 attempts each)", n, most)
		}
		p.Remove(stall)
		if got, _ := readAll(t, s, o, nil); !bytes.Equal(got, data) {
			t.Fatal("read after the stall is not byte-exact")
		}
	})

	t.Run("DamagedPart", func(t *testing.T) { testDamagedPart(t, e) })
}

// flipper damages one byte of the body of GETs for part 2 (partNumber=2),
// or, with always, of every response after the first.
type flipper struct {
	next   http.RoundTripper
	always bool
	flips  atomic.Int64
	gets   atomic.Int64
}

func (f *flipper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet {
		return resp, err
	}
	n := f.gets.Add(1)
	part2 := r.URL.Query().Get("partNumber") == "2"
	if part2 && f.flips.Load() == 0 || f.always && n > 1 && !r.URL.Query().Has("list-type") {
		f.flips.Add(1)
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		b[len(b)/2] ^= 0x40
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// testDamagedPart archives a multipart object and damages a part on its
// way back: S3's per-part CRC32C must catch it. Once damaged, the part is
// read again; always damaged, the read fails naming the checksum.
func testDamagedPart(t *testing.T, e *env) {
	d, err := s3dest.New(t.Context(), s3dest.Options{Bucket: e.bucket, Prefix: "dmg", Region: "us-east-1",
		Endpoint: e.srv.Endpoint, PathStyle: true, PartSize: s3dest.MinPartSize, Credentials: e.srv.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	data := transfertest.Content(32, 2*s3dest.MinPartSize+99)
	m := transfertest.Meta(data, true)
	u, _ := d.Begin(t.Context(), "mp.bin", m, nil)
	for off := 0; off < len(data); off += mib {
		if err := u.Write(t.Context(), int64(off), data[off:min(off+mib, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Commit(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	for _, always := range []bool{false, true} {
		f := &flipper{always: always}
		s, _ := e.source(t, "dmg/", func(o *s3src.Options) {
			o.Client.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { f.next = rt; return f }
		})
		o := lookup(t, s, "mp.bin")
		r, err := s.Open(t.Context(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(t.Context(), r)
		r.Close()
		switch {
		case f.flips.Load() == 0:
			t.Fatal("no byte was damaged")
		case !always && (err != nil || !bytes.Equal(got, data)):
			t.Errorf("a part damaged once: %v, byte-exact %v; want the part read again", err, bytes.Equal(got, data))
		case always && (err == nil || !strings.Contains(err.Error(), "CRC32C") || !strings.Contains(err.Error(), "dmg/mp.bin")):
			t.Errorf("parts always damaged: %v; want an error naming CRC32C and the key", err)
		}
	}
}
