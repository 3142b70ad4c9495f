package request_test

import (
	"strings"
	"testing"

	"github.com/dbopsd/dbopsd/request"
	"github.com/dbopsd/dbopsd/request/requesttest"
)

func maintenanceDraft(database, op string, tables ...string) request.Draft {
	return request.Draft{Action: request.ActionMaintenance, Requester: requesttest.DBA, Reason: "膨胀清理",
		Parameters: request.Parameters{Database: database, Operation: op, Tables: tables}}
}

// TestMaintenanceParameters: a maintenance request names one operation of
// the allowed list on one table; the engine decides which operations
// apply; the operation is signed (changing it breaks the signatures); and
// restores keep their canonical bytes.
func TestMaintenanceParameters(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    request.Draft
		want string
	}{
		{"no operation", maintenanceDraft("queue", "", "public.t"), "names its operation"},
		{"arbitrary SQL", maintenanceDraft("queue", "DROP TABLE t", "public.t"), "not one of the allowed"},
		{"no table", maintenanceDraft("queue", "vacuum"), "exactly one table"},
		{"two tables", maintenanceDraft("queue", "vacuum", "public.a", "public.b"), "exactly one table"},
		{"restore with an operation", request.Draft{Action: request.ActionRestore, Requester: requesttest.DBA,
			Parameters: request.Parameters{Database: "queue", Target: "scratch-pg", As: "x", Operation: "vacuum"}}, "maintenance requests only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := request.New(tc.d, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
		})
	}

	site := requesttest.NewSite(t)
	for _, tc := range []struct {
		database, op string
		ok           bool
	}{
		{"queue", "vacuum_full", true},
		{"queue", "optimize", false}, // MariaDB's
		{"hall", "optimize", true},
		{"hall", "vacuum", false}, // PostgreSQL's
	} {
		r := newRequest(t, maintenanceDraft(tc.database, tc.op, "public.t"))
		if err := request.TargetAllowed(site.Config, r); (err == nil) != tc.ok {
			t.Errorf("%s on %s: TargetAllowed = %v, want allowed %v", tc.op, tc.database, err, tc.ok)
		}
	}

	r := newRequest(t, maintenanceDraft("queue", "vacuum", "public.t"))
	site.Sign(t, r, requesttest.DBA)
	site.Sign(t, r, requesttest.Approver)
	site.Sign(t, r, requesttest.Approver2)
	if rep := request.Offline(site.Config, r, now, 0); !rep.OK() {
		t.Fatalf("signed maintenance request refused: %s", rep.Reason())
	}
	parsed, err := request.Parse(r.Marshal())
	if err != nil || parsed.Operation() != r.Operation() || parsed.Digest() != r.Digest() {
		t.Fatalf("round trip: %v, %+v", err, parsed)
	}
	forged, err := request.Parse([]byte(strings.Replace(string(r.Marshal()), `"operation": "vacuum"`, `"operation": "vacuum_full"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if rep := request.Offline(site.Config, forged, now, 0); rep.OK() || !strings.Contains(rep.Reason(), "changed after it was signed") {
		t.Fatalf("a changed operation was accepted: %s", rep.Reason())
	}

	restore := newRequest(t, draft("restore", "standby-pg", "queue_restored"))
	if c := string(restore.Canonical()); strings.Contains(c, "operation") || strings.Contains(c, "proposal") {
		t.Fatalf("a restore's canonical bytes changed: %s", c)
	}
}
