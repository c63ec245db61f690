// Package toxitest runs a real Toxiproxy server for tests, so network faults
// (resets, stalls, slow links) are injected into real TCP connections between
// efssync and a real server rather than simulated inside the client.
//
// The binary is found in this order: the EFSSYNC_TEST_TOXIPROXY environment
// variable, <repo>/.bin/toxiproxy-server (built by
// scripts/install-test-deps.sh), then toxiproxy-server on PATH. A missing
// binary skips the test, except under CI=true, where it fails it.
package toxitest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/efssync/efssync/internal/miniotest"
	"github.com/efssync/efssync/internal/testbin"
)

const readyTimeout = 30 * time.Second

// Server is one running toxiproxy-server owned by a test.
type Server struct {
	// Client talks to the server's control API.
	Client *toxiproxy.Client
	addr   string
	n      int
	mu     sync.Mutex
}

// Proxy is one TCP proxy in front of an upstream address.
type Proxy struct {
	// Addr is host:port to connect to instead of the upstream.
	Addr string
	p    *toxiproxy.Proxy
	t    testing.TB
}

// Start launches toxiproxy-server on a free loopback port and kills it when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testbin.Find(t, "EFSSYNC_TEST_TOXIPROXY", "toxiproxy-server")
	port := miniotest.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", port)
	logPath := filepath.Join(t.TempDir(), "toxiproxy.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("toxitest: %v", err)
	}
	cmd := exec.Command(bin, "-host", "127.0.0.1", "-port", port)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("toxitest: starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	if err := waitReady(addr, done); err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("toxitest: %v\n%s", err, b)
	}
	return &Server{Client: toxiproxy.NewClient(addr), addr: addr}
}

func waitReady(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + addr + "/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("toxiproxy at %s not ready after %s (last error: %v)", addr, readyTimeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("toxiproxy at %s exited during startup", addr)
		case <-tick.C:
		}
	}
}

// Proxy creates a proxy listening on a free loopback port and forwarding to
// upstream (host:port). It is deleted when the test ends.
func (s *Server) Proxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("p%d", s.n)
	s.mu.Unlock()
	listen := net.JoinHostPort("127.0.0.1", miniotest.FreePort(t))
	p, err := s.Client.CreateProxy(name, listen, upstream)
	if err != nil {
		t.Fatalf("toxitest: create proxy %s -> %s: %v", listen, upstream, err)
	}
	t.Cleanup(func() { _ = p.Delete() })
	return &Proxy{Addr: listen, p: p, t: t}
}

// Add installs a toxic. stream is "upstream" (client to server) or
// "downstream"; attrs are the toxic's attributes, e.g. {"timeout": 0}.
func (p *Proxy) Add(name, typ, stream string, attrs map[string]any) {
	p.t.Helper()
	if _, err := p.p.AddToxic(name, typ, stream, 1, toxiproxy.Attributes(attrs)); err != nil {
		p.t.Fatalf("toxitest: add toxic %s (%s): %v", name, typ, err)
	}
}

// Remove takes a toxic away, restoring the link.
func (p *Proxy) Remove(name string) {
	p.t.Helper()
	if err := p.p.RemoveToxic(name); err != nil {
		p.t.Fatalf("toxitest: remove toxic %s: %v", name, err)
	}
}

// ResetPeer resets every connection (TCP RST) timeoutMS after it first sends
// data in the given direction. It returns the toxic's name for Remove.
func (p *Proxy) ResetPeer(stream string, timeoutMS int) string {
	name := "reset_" + stream
	p.Add(name, "reset_peer", stream, map[string]any{"timeout": timeoutMS})
	return name
}

// Stall stops passing data in the given direction; with timeoutMS > 0 the
// connection is closed after that long, with 0 it hangs until removed.
func (p *Proxy) Stall(stream string, timeoutMS int) string {
	name := "timeout_" + stream
	p.Add(name, "timeout", stream, map[string]any{"timeout": timeoutMS})
	return name
}

// Bandwidth limits the given direction to kbps kilobytes per second.
func (p *Proxy) Bandwidth(stream string, kbps int) string {
	name := "bandwidth_" + stream
	p.Add(name, "bandwidth", stream, map[string]any{"rate": kbps})
	return name
}

// Latency delays data in the given direction by ms (± jitter ms).
func (p *Proxy) Latency(stream string, ms, jitter int) string {
	name := "latency_" + stream
	p.Add(name, "latency", stream, map[string]any{"latency": ms, "jitter": jitter})
	return name
}

// LimitData closes connections after n bytes passed in the given direction.
func (p *Proxy) LimitData(stream string, n int) string {
	name := "limit_data_" + stream
	p.Add(name, "limit_data", stream, map[string]any{"bytes": n})
	return name
}
