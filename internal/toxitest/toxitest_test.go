package toxitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProxyPassesAndResets(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer backend.Close()
	s := Start(t)
	p := s.Proxy(t, backend.Listener.Addr().String())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	resp, err := client.Get("http://" + p.Addr + "/")
	if err != nil {
		t.Fatalf("through proxy: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" {
		t.Fatalf("got %q through proxy", b)
	}

	name := p.ResetPeer("upstream", 0)
	if resp, err := client.Get("http://" + p.Addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("request through reset_peer succeeded with %s", resp.Status)
	}
	p.Remove(name)
	resp, err = client.Get("http://" + p.Addr + "/")
	if err != nil {
		t.Fatalf("after removing toxic: %v", err)
	}
	resp.Body.Close()
}
