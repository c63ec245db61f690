// Package playertest plays a live stream from a replica the way viewers
// do, to judge replication by what a real player meets: a small static
// HTTP server on 127.0.0.1 serves a directory and logs every request
// (status, range, bytes), and players read from it: ffmpeg for HLS, and
// the DASH-IF reference player dash.js in headless Chromium for DASH, its
// page reporting player events back to the same server.
package playertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one file request the server answered.
type Request struct {
	Path   string
	Status int
	// Range is the request's Range header, "" for the whole file.
	Range string
	// Bytes is how many body bytes were sent; Want how many the request
	// asked for (the range's length, or the file's size), -1 if unknown.
	Bytes, Want int64
	// Aborted is set when the client went away mid-answer (a player
	// cancelling a request it no longer needs); the answer was not short.
	Aborted bool
}

// Short reports whether the answer carried fewer bytes than asked for: a
// byte range beyond what the replica holds, or a file cut short.
func (r Request) Short() bool {
	return r.Status/100 == 2 && !r.Aborted && r.Want >= 0 && r.Bytes < r.Want
}

// Event is one event a player page reported.
type Event struct {
	Type   string  `json:"type"`
	Detail string  `json:"detail"`
	At     float64 `json:"at"` // the page's clock, ms
}

// Server serves one directory over HTTP on 127.0.0.1.
type Server struct {
	// URL is the server's base URL, without a trailing slash.
	URL string

	dir    string
	assets map[string]string // URL path -> file, for player code
	srv    *http.Server
	mu     sync.Mutex
	reqs   []Request
	events []Event
	ev     chan struct{}
}

// Serve starts a server for dir that stops when the test ends.
func Serve(t testing.TB, dir string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), dir: dir, assets: map[string]string{}, ev: make(chan struct{}, 1)}
	s.srv = &http.Server{Handler: s}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Asset serves file at urlPath (outside the directory: player code).
func (s *Server) Asset(urlPath, file string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assets[urlPath] = file
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/events" && r.Method == http.MethodPost:
		s.event(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/page/"):
		s.page(w, r)
		return
	case r.URL.Path == "/ready":
		s.ready(w, r)
		return
	}
	s.mu.Lock()
	asset, isAsset := s.assets[r.URL.Path]
	s.mu.Unlock()
	if isAsset {
		http.ServeFile(w, r, asset)
		return
	}
	s.file(w, r)
}

// file serves one file of the directory, as a CDN origin would: ranges
// honoured, nothing cached, and every answer logged.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	rec := Request{Path: rel, Range: r.Header.Get("Range"), Want: -1}
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		rec.Status, rec.Bytes, rec.Aborted = cw.status, cw.n, cw.failed
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
	}()
	f, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(rel)))
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, fs.ErrNotExist) {
			code = http.StatusNotFound
		}
		http.Error(cw, err.Error(), code)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		http.Error(cw, "not a file", http.StatusNotFound)
		return
	}
	rec.Want = wantBytes(rec.Range, fi.Size())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(cw, r, fi.Name(), fi.ModTime(), f)
}

// wantBytes is how many bytes a request for a file of size asks for: a
// closed range "bytes=a-b" asks for b-a+1 whatever the file holds now.
func wantBytes(rng string, size int64) int64 {
	spec, ok := strings.CutPrefix(rng, "bytes=")
	if rng == "" {
		return size
	}
	a, b, ok2 := strings.Cut(spec, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	switch {
	case !ok || !ok2 || strings.Contains(spec, ",") || err1 != nil:
		return -1
	case err2 != nil: // "a-": to the end, whatever it is
		return max(size-first, 0)
	}
	return last - first + 1
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
	failed bool // a write to the client failed
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	if err != nil {
		c.failed = true
	}
	return n, err
}

func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	var e Event
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err == nil {
		err = json.Unmarshal(body, &e)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("bad event: %v", err), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	select {
	case s.ev <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// ready answers once the file named by ?file= exists in the directory:
// a player page started before the encoder waits on it for the first
// manifest instead of failing on a 404 that no viewer of a running stream
// would meet.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(path.Clean("/"+r.URL.Query().Get("file")), "/")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(filepath.Join(s.dir, filepath.FromSlash(rel))); err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// Requests returns every file request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Events returns every event the player pages reported so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Failures lists the requests a viewer would have suffered from: a 404 or
// other error on a file, and a short answer. isMedia picks the files that
// count (segments and manifests, not favicon.ico).
func Failures(reqs []Request, isMedia func(rel string) bool) []Request {
	var out []Request
	for _, r := range reqs {
		if isMedia(r.Path) && (r.Status >= 400 || r.Short()) {
			out = append(out, r)
		}
	}
	return out
}
