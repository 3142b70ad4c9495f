package mssql

import (
	"testing"

	"github.com/dbopsd/dbopsd/engines"
)

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

// TestNativeOptions: COPY_ONLY for fulls outside the schedule only, never
// for a differential (SQL Server refuses DIFFERENTIAL with COPY_ONLY);
// COMPRESSION unless turned off.
func TestNativeOptions(t *testing.T) {
	for _, c := range []struct {
		opts engines.BackupOptions
		want backupOptions
	}{
		{engines.BackupOptions{Type: "full"}, backupOptions{}},
		{engines.BackupOptions{Type: "full", CopyOnly: true}, backupOptions{CopyOnly: true}},
		{engines.BackupOptions{Type: "differential"}, backupOptions{Differential: true}},
		{engines.BackupOptions{Type: "differential", CopyOnly: true}, backupOptions{Differential: true}},
		{engines.BackupOptions{Type: "full", NoCompression: true}, backupOptions{NoCompression: true}},
	} {
		got := nativeOptions(c.opts)
		if got != c.want {
			t.Errorf("nativeOptions(%+v) = %+v, want %+v", c.opts, got, c.want)
		}
		if _, err := got.with(true); err != nil {
			t.Errorf("nativeOptions(%+v): %v", c.opts, err)
		}
	}
}
