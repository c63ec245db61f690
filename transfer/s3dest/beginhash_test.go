package s3dest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efssync/efssync/transfer/s3dest"
	"github.com/efssync/efssync/transfer/transfertest"
)

// testBeginHash checks where the BLAKE3 of a multipart object goes: into
// the object's metadata (returned by GET, no tags) when Begin already knows
// it, into tags when it is only known at Commit (a file that was growing).
func testBeginHash(t *testing.T, e *env) {
	d, _ := e.dest(t, func(o *s3dest.Options) { o.Tags = map[string]string{"team": "video"} })
	cl := e.srv.Client()
	data := transfertest.Content(11, 2*partSize+123)
	m := meta(data)
	blake := fmt.Sprintf("%x", m.Hash)

	objectMeta := func(rel string) (md, tags map[string]string) {
		t.Helper()
		key, _ := d.Key(rel)
		get, err := cl.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &e.bucket, Key: &key, Range: aws.String("bytes=0-0")})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		get.Body.Close()
		tg, err := cl.GetObjectTagging(t.Context(), &s3.GetObjectTaggingInput{Bucket: &e.bucket, Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		tags = map[string]string{}
		for _, x := range tg.TagSet {
			tags[*x.Key] = *x.Value
		}
		md = map[string]string{}
		for k, v := range get.Metadata {
			md[strings.ToLower(k)] = v
		}
		return md, tags
	}

	t.Run("KnownAtBegin", func(t *testing.T) {
		upload(t, d, "finished.bin", data)
		checkObject(t, d, "finished.bin", data)
		md, tags := objectMeta("finished.bin")
		if md["blake3"] != blake || md["mtime"] == "" || md["mode"] != "640" {
			t.Fatalf("GET metadata = %v, want blake3 %s, mtime and mode 640", md, blake)
		}
		if tags["team"] != "video" || tags["efssync-blake3"] != "" {
			t.Fatalf("tags = %v, want only the configured ones", tags)
		}
	})

	t.Run("KnownAtCommit", func(t *testing.T) {
		bm := m
		bm.Hash = nil
		u, err := d.Begin(t.Context(), "growing.bin", bm, nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, u, data, 0, len(data))
		if err := u.Commit(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		checkObject(t, d, "growing.bin", data)
		md, tags := objectMeta("growing.bin")
		if md["blake3"] != "" || tags["efssync-blake3"] != blake || tags["team"] != "video" {
			t.Fatalf("metadata %v, tags %v: want the hash only in the tags", md, tags)
		}
	})

	t.Run("ChangedAfterBegin", func(t *testing.T) {
		u, err := d.Begin(t.Context(), "changed.bin", m, nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, u, data, 0, len(data))
		other := m
		other.Hash = append([]byte{m.Hash[0] ^ 1}, m.Hash[1:]...)
		err = u.Commit(t.Context(), other)
		if err == nil || !strings.Contains(err.Error(), "changed after Begin") || !strings.Contains(err.Error(), "changed.bin") {
			t.Fatalf("Commit with another hash = %v, want an error naming the key and the change", err)
		}
		if err := u.Abort(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Stat(t.Context(), "changed.bin"); err == nil {
			t.Fatal("an object was published although its hash changed")
		}
	})
}
