package s3src

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestAsOfPicker(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(1_700_000_000+int64(s), 0) }
	p := &asOfPicker{asOf: at(10)}
	// Entries in listing order: by key, newest first, split anywhere.
	in := []version{
		{key: "a", id: "a3", mod: at(12)},               // after as_of
		{key: "a", id: "a2", mod: at(10)},               // current at as_of
		{key: "a", id: "a1", mod: at(5)},                // older
		{key: "b", id: "b2", mod: at(9), deleted: true}, // deleted before as_of
		{key: "b", id: "b1", mod: at(1)},
		{key: "c", id: "c1", mod: at(11)},                // created after as_of
		{key: "d", id: "d2", mod: at(11), deleted: true}, // deleted after as_of
		{key: "d", id: "d1", mod: at(3)},
	}
	var got []string
	for _, v := range in {
		if w, ok := p.pick(v); ok {
			got = append(got, w.id)
		}
	}
	if strings.Join(got, ",") != "a2,d1" {
		t.Fatalf("picked %v, want [a2 d1]", got)
	}
}

func TestPageVersionsMergesDeleteMarkers(t *testing.T) {
	at := func(s int) *time.Time { t := time.Unix(int64(s), 0); return &t }
	page := &s3.ListObjectVersionsOutput{}
	page.Versions = append(page.Versions,
		s3Version("a", "a1", at(1)), s3Version("b", "b1", at(1)), s3Version("b", "b3", at(3)))
	page.DeleteMarkers = append(page.DeleteMarkers, s3Marker("b", "b2", at(2)))
	var ids []string
	for _, v := range pageVersions(page) {
		ids = append(ids, v.id)
	}
	if strings.Join(ids, ",") != "a1,b3,b2,b1" {
		t.Fatalf("merged order %v, want a1 b3 b2 b1", ids)
	}
}

func TestParseRestoreAndArchivedError(t *testing.T) {
	for h, want := range map[string]RestoreState{
		"":                       NotRestored,
		`ongoing-request="true"`: RestoreInProgress,
		`ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`: Restored,
	} {
		if got := ParseRestore(h); got != want {
			t.Errorf("ParseRestore(%q) = %v, want %v", h, got, want)
		}
	}
	for _, c := range []string{"GLACIER", "DEEP_ARCHIVE"} {
		if !Archived(c) {
			t.Errorf("Archived(%s) = false", c)
		}
	}
	for _, c := range []string{"STANDARD", "GLACIER_IR", "STANDARD_IA", ""} {
		if Archived(c) {
			t.Errorf("Archived(%s) = true", c)
		}
	}
	msg := (&ArchivedError{Bucket: "b", Key: "p/x.mp4", Class: "DEEP_ARCHIVE"}).Error()
	for _, w := range []string{"s3://b/p/x.mp4", "DEEP_ARCHIVE", "glacier: {restore: true"} {
		if !strings.Contains(msg, w) {
			t.Errorf("ArchivedError %q lacks %q", msg, w)
		}
	}
}

// TestFullChecksums checks the whole-object checksums against the standard
// check values of "123456789".
func TestFullChecksums(t *testing.T) {
	b64 := func(v uint64, n int) string {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], v)
		return base64.StdEncoding.EncodeToString(b[8-n:])
	}
	for _, c := range []struct {
		out  *s3.GetObjectOutput
		name string
	}{
		{&s3.GetObjectOutput{ChecksumCRC64NVME: aws.String(b64(0xae8b14860a799888, 8))}, "CRC64NVME"},
		{&s3.GetObjectOutput{ChecksumCRC32C: aws.String(b64(0xe3069283, 4))}, "CRC32C"},
		{&s3.GetObjectOutput{ChecksumCRC32: aws.String(b64(0xcbf43926, 4))}, "CRC32"},
	} {
		f := newChecksum(c.out)
		if f == nil || f.name != c.name {
			t.Fatalf("newChecksum picked %v, want %s", f, c.name)
		}
		f.add([]byte("12345"))
		if f.check() {
			t.Errorf("%s of 12345 matched that of 123456789", c.name)
		}
		// After a reset the bytes of a unit read again are not added to
		// those of the first read.
		f.reset()
		f.add([]byte("1234"))
		f.add([]byte("56789"))
		if !f.check() {
			t.Errorf("%s of 123456789 = %s, want %s", c.name, f.got, f.want)
		}
	}
	if f := newChecksum(&s3.GetObjectOutput{ChecksumCRC32C: aws.String("AAAAAA==-3")}); f != nil {
		t.Errorf("a composite checksum was taken for a whole-object one")
	}
}

// TestCRC64NVMEMatchesReference: the fast CRC-64/NVME agrees with the
// table-driven one of the standard library on inputs long enough for its
// vector path, fed in pieces of odd lengths as bodies arrive.
func TestCRC64NVMEMatchesReference(t *testing.T) {
	ref := crc64.MakeTable(0x9a6c9329ac4bc9b5) // CRC-64/NVME, reflected
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i*131 + i>>9)
	}
	for _, piece := range []int{1, 63, 4096, 65537, len(data)} {
		var want [8]byte
		binary.BigEndian.PutUint64(want[:], crc64.Checksum(data, ref))
		f := newChecksum(&s3.GetObjectOutput{ChecksumCRC64NVME: aws.String(base64.StdEncoding.EncodeToString(want[:]))})
		for off := 0; off < len(data); off += piece {
			f.add(data[off:min(off+piece, len(data))])
		}
		if !f.check() {
			t.Errorf("pieces of %d bytes: CRC64NVME %s, the standard library's %s", piece, f.got, f.want)
		}
	}
}

func s3Version(key, id string, mod *time.Time) types.ObjectVersion {
	return types.ObjectVersion{Key: aws.String(key), VersionId: aws.String(id), LastModified: mod}
}

func s3Marker(key, id string, mod *time.Time) types.DeleteMarkerEntry {
	return types.DeleteMarkerEntry{Key: aws.String(key), VersionId: aws.String(id), LastModified: mod}
}
