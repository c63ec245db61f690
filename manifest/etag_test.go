package manifest

import (
	"errors"
	"testing"
)

// A record of a restored object carries its ETag and is written as
// version 2; a record without one stays version 1, byte for byte readable
// by builds that predate the ETag.
func TestRecordETagVersions(t *testing.T) {
	r := sampleRecord()
	r.ETag = "9b2cf535f27731c974343645a3985328-3"
	b := MarshalRecord(r)
	if b[0] != recordVersion {
		t.Fatalf("version %d, want %d", b[0], recordVersion)
	}
	got, err := UnmarshalRecord(b)
	if err != nil || got.ETag != r.ETag || got.Size != r.Size || len(got.Dests) != len(r.Dests) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	plain := MarshalRecord(sampleRecord())
	if plain[0] != recordVersionV1 {
		t.Fatalf("a record without ETag is version %d, want %d", plain[0], recordVersionV1)
	}
	// Version 1 knows no ETag flag.
	b[0] = recordVersionV1
	if _, err := UnmarshalRecord(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ETag flag in a version 1 record: err = %v, want ErrCorrupt", err)
	}
}
