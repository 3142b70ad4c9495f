package reconcile

import "testing"

// TestIntPrefix: a group's prefix starts with its parent's, and reads back.
func TestIntPrefix(t *testing.T) {
	for _, n := range []uint64{0, 1, 255, 256, 65535, 70000, 1<<56 - 1} {
		for depth := 2; depth <= MaxIntDepth; depth += 2 {
			p := IntPrefix(n%(1<<(4*depth)), depth)
			if len(p) != depth || intOf(p) != n%(1<<(4*depth)) {
				t.Errorf("IntPrefix(%d, %d) = %q, reads back %d", n, depth, p, intOf(p))
			}
			if depth > 2 {
				if parent := IntPrefix(n%(1<<(4*(depth-2))), depth-2); p[:depth-2] != parent {
					t.Errorf("prefix %q of %d at %d does not start with its parent %q", p, n, depth, parent)
				}
			}
		}
	}
}
