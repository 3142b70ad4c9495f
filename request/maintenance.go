package request

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/dbopsd/dbopsd/config"
	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/maintmodel"
)

// proposalPattern is a maintenance proposal id: a history document id, a
// dot and a number.
var proposalPattern = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)

// validMaintenance checks the syntax of a maintenance request's
// parameters: one operation of the allowed list, on exactly one table.
func validMaintenance(p Parameters) error {
	known := false
	for _, ops := range maintmodel.Allowed {
		known = known || slices.Contains(ops, maintmodel.Op(p.Operation))
	}
	switch {
	case p.Operation == "":
		return errors.New("a maintenance request names its operation")
	case !known:
		return fmt.Errorf("operation %q is not one of the allowed maintenance operations", p.Operation)
	case len(p.Tables) != 1:
		return fmt.Errorf("a maintenance request names exactly one table, it names %d", len(p.Tables))
	case p.Index != "" && !printable(p.Index, ""):
		return errors.New("index contains control characters")
	case p.Proposal != "" && !proposalPattern.MatchString(p.Proposal):
		return fmt.Errorf("proposal %q is not a proposal id", p.Proposal)
	}
	return nil
}

// Operation returns the maintenance operation a request names (Parse and
// New have checked it).
func (r *Request) Operation() maintmodel.Operation {
	op := maintmodel.Operation{Op: maintmodel.Op(r.Parameters.Operation), Index: r.Parameters.Index}
	if len(r.Parameters.Tables) > 0 {
		op.Table, _ = engines.ParseTableRef(r.Parameters.Tables[0])
	}
	return op
}

// checkMaintenance is the target check of a maintenance request: the
// operation must be allowed on the database's engine.
func checkMaintenance(db *config.Database, r *Request) (string, bool) {
	op := r.Operation()
	if err := op.Check(db.Engine); err != nil {
		return fmt.Sprintf("database %q: %v", db.Name, err), false
	}
	return fmt.Sprintf("maintenance of database %q: %s", db.Name, op), true
}

// maintenanceNote is what the register's received entry says of the
// operation asked for.
func maintenanceNote(r *Request) string {
	s := "maintenance: " + r.Operation().String()
	if r.Parameters.Proposal != "" {
		s += " (proposal " + r.Parameters.Proposal + ")"
	}
	return s
}
