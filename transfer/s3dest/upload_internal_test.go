package s3dest

import "testing"

func TestPartSizeRaisedBeyondTenThousandParts(t *testing.T) {
	const mib = 1 << 20
	cases := []struct{ configured, size, want int64 }{
		{16 * mib, 0, 16 * mib},
		{16 * mib, 16 * mib * maxParts, 16 * mib},
		{16 * mib, 16*mib*maxParts + 1, 17 * mib},
		{5 * mib, 1 << 40, 105 * mib}, // 1 TiB needs 104.9 MiB parts
		{16 * mib, 5 << 40, 525 * mib},
	}
	for _, c := range cases {
		got := partSizeFor(c.configured, c.size)
		if got != c.want {
			t.Errorf("partSizeFor(%d, %d) = %d, want %d", c.configured, c.size, got, c.want)
		}
		if c.size > 0 && got < MaxPartSize && (c.size+got-1)/got > maxParts {
			t.Errorf("partSizeFor(%d, %d) = %d needs more than %d parts", c.configured, c.size, got, maxParts)
		}
	}
}
