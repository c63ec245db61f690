package s3client

import (
	"context"
	"net"
	"time"
)

// stallDialer wraps dial so every connection fails once no byte has moved in
// either direction for timeout. A deadline per request would have to allow
// for the slowest legitimate part upload; a deadline per byte moved fails a
// hung connection quickly while a slow one keeps going.
func stallDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &stallConn{Conn: c, timeout: timeout}, nil
	}
}

type stallConn struct {
	net.Conn
	timeout time.Duration
}

// Read extends only the read deadline: an idle pooled connection's pending
// read then ends after timeout, and the transport dials a fresh one.
func (c *stallConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

// Write extends both deadlines, so the wait for the response (whose read
// may have started while the connection sat idle) counts from the last byte
// of the request, not from when the connection was last used.
func (c *stallConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}
