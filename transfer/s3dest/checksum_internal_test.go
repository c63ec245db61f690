package s3dest

import (
	"hash/crc64"
	"testing"
)

// The CRC-64/NVME table gives the catalogue's check value for "123456789".
func TestCRC64NVMECheckValue(t *testing.T) {
	if got := crc64.Checksum([]byte("123456789"), crc64NVME); got != 0xae8b14860a799888 {
		t.Fatalf("CRC-64/NVME(123456789) = %#x, want 0xae8b14860a799888", got)
	}
}
