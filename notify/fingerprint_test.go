package notify

import "testing"

func TestFingerprint(t *testing.T) {
	a := fingerprint(Event{Kind: "full", Error: "backup 20250301T010000.123Z-9f3ab2c1 of queue: dial tcp 10.0.0.1:5432: i/o timeout"})
	b := fingerprint(Event{Kind: "full", Error: "backup 20250308T010000.456Z-77aa00ff of queue: dial tcp 10.0.0.1:5432: i/o timeout"})
	c := fingerprint(Event{Kind: "full", Error: "backup 20250308T010000.456Z-77aa00ff of queue: permission denied"})
	if a != b || a == c {
		t.Errorf("fingerprints: %q %q %q", a, b, c)
	}
}
