package s3dest_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/efssync/efssync/transfer"
	"github.com/efssync/efssync/transfer/s3dest"
)

// closedEndpoint returns a loopback URL on which nothing listens.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// Each way a destination can be unusable is one fatal error at start that
// names the destination and the cause, within seconds (the SDK's retries
// are off for the check: 10 attempts with backoff took 69 s for one file).
func TestPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	noCreds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no EC2 IMDS role found")
	})
	cases := []struct {
		name string
		mod  func(*s3dest.Options)
		want string // "" means usable
	}{
		{"usable", nil, ""},
		{"missing bucket", func(o *s3dest.Options) { o.Bucket = "no-such-bucket" }, "the bucket does not exist"},
		{"access denied", func(o *s3dest.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider("nobody-here", "wrong-secret-wrong-secret", "")
		}, "access denied"},
		{"no credentials", func(o *s3dest.Options) { o.Credentials = noCreds }, "no usable AWS credentials"},
		{"endpoint down", func(o *s3dest.Options) { o.Endpoint = closedEndpoint(t) }, "the endpoint is unreachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, _ := e.dest(t, func(o *s3dest.Options) {
				o.Name = "archive"
				o.MaxAttempts = 10 // what production uses: Preflight must not use them
				o.MaxBackoff = 2 * time.Second
				if c.mod != nil {
					c.mod(o)
				}
			})
			start := time.Now()
			err := d.Preflight(t.Context())
			took := time.Since(start)
			if c.want == "" {
				if err != nil {
					t.Fatalf("usable destination: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "archive") {
				t.Fatalf("error %v: want it to name the destination and say %q", err, c.want)
			}
			if !transfer.IsFatal(err) {
				t.Errorf("error %v is not marked fatal", err)
			}
			if took > 5*time.Second {
				t.Errorf("preflight took %v, want one quick attempt", took)
			}
		})
	}
}
