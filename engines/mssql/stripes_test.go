package mssql

import "testing"

// TestStripesFor: the stripe count from the database's size, against the
// 50,000 × 4 MiB limit of a block blob and SQL Server's 64 devices.
func TestStripesFor(t *testing.T) {
	const gib = int64(1) << 30
	if stripeLimit != 50_000*4*1024*1024 || stripeLimit/gib != 195 {
		t.Fatalf("a stripe's limit is %d bytes (%d GiB), not 50,000 blocks of 4 MiB", stripeLimit, stripeLimit/gib)
	}
	for _, c := range []struct {
		data, log int64
		want      int
	}{
		{0, 0, 1},
		{8 << 20, 8 << 20, 1},
		{stripeBytes, 0, 1},
		{stripeBytes, 1, 2},
		{90 * gib, 10 * gib, 2}, // 100 GiB: over half a stripe's limit
		{1024 * gib, 64 * gib, 12},
		{64 * stripeBytes, 0, 64},
		{64*stripeBytes + gib, 0, 64}, // fuller stripes, still under 90% of the limit
		{64 * stripeLimit / 10 * 9, 0, 64},
	} {
		got, err := stripesFor(c.data, c.log)
		if err != nil || got != c.want {
			t.Errorf("stripesFor(%d, %d) = %d, %v; want %d", c.data, c.log, got, err, c.want)
		}
		if err == nil && (c.data+c.log)/int64(got) > stripeLimit {
			t.Errorf("stripesFor(%d, %d) = %d: a stripe would pass the limit", c.data, c.log, got)
		}
	}
	if n, err := stripesFor(64*stripeLimit, 0); err == nil {
		t.Errorf("a database of 64 full stripes: %d stripes, no error", n)
	}
}
