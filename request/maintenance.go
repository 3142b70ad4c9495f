package request

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

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
	case p.Operation == string(maintmodel.Comment):
		return validComments(p)
	case len(p.Comments) > 0:
		return fmt.Errorf("operation %q takes no comments", p.Operation)
	case len(p.Tables) != 1:
		return fmt.Errorf("a maintenance request names exactly one table, it names %d", len(p.Tables))
	case p.Index != "" && !printable(p.Index, ""):
		return errors.New("index contains control characters")
	case p.Proposal != "" && !proposalPattern.MatchString(p.Proposal):
		return fmt.Errorf("proposal %q is not a proposal id", p.Proposal)
	}
	return nil
}

// validComments checks a comment request: its changes, and no table,
// index or proposal of its own. A comment's text is data (the engine
// quotes it): any printable text, newlines and tabs included.
func validComments(p Parameters) error {
	switch {
	case len(p.Tables) > 0 || p.Index != "" || p.Proposal != "":
		return errors.New("a comment request names its tables in its comments; tables, index and proposal do not apply")
	case len(p.Comments) == 0:
		return errors.New("a comment request carries at least one comment")
	}
	seen := map[[2]string]bool{}
	for i, c := range p.Comments {
		field := fmt.Sprintf("comments[%d]", i)
		if _, err := engines.ParseTableRef(c.Table); err != nil || !printable(c.Table, "") || strings.TrimSpace(c.Table) != c.Table {
			return fmt.Errorf("%s: table %q is not a table name", field, c.Table)
		}
		if !printable(c.Column, "") || strings.TrimSpace(c.Column) != c.Column {
			return fmt.Errorf("%s: column %q is not a column name", field, c.Column)
		}
		if !printable(c.Comment, "\n\t") {
			return fmt.Errorf("%s: the comment contains control characters other than newline and tab", field)
		}
		if seen[[2]string{c.Table, c.Column}] {
			return fmt.Errorf("%s: the comment of %s is set twice", field, strings.TrimSuffix(c.Table+"."+c.Column, "."))
		}
		seen[[2]string{c.Table, c.Column}] = true
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

// CommentChanges returns the changes of a comment request (Parse and New
// have checked them).
func (r *Request) CommentChanges() []maintmodel.CommentChange {
	var out []maintmodel.CommentChange
	for _, c := range r.Parameters.Comments {
		t, _ := engines.ParseTableRef(c.Table)
		out = append(out, maintmodel.CommentChange{Table: t, Column: c.Column, Text: c.Comment})
	}
	return out
}

// checkMaintenance is the target check of a maintenance request: the
// operation must be allowed on the database's engine.
func checkMaintenance(db *config.Database, r *Request) (string, bool) {
	op := r.Operation()
	if err := op.Check(db.Engine); err != nil {
		return fmt.Sprintf("database %q: %v", db.Name, err), false
	}
	if op.Op == maintmodel.Comment {
		if err := maintmodel.CheckComments(db.Engine, r.CommentChanges()); err != nil {
			return fmt.Sprintf("database %q: %v", db.Name, err), false
		}
	}
	return fmt.Sprintf("maintenance of database %q: %s", db.Name, r.MaintenanceText()), true
}

// maintenanceNote is what the register's received entry says of the
// operation asked for.
func maintenanceNote(r *Request) string {
	s := "maintenance: " + r.MaintenanceText()
	if r.Parameters.Proposal != "" {
		s += " (proposal " + r.Parameters.Proposal + ")"
	}
	return s
}

// MaintenanceText says what a maintenance request does, for people: the
// operation and its table, or a comment request's changes.
func (r *Request) MaintenanceText() string {
	op := r.Operation()
	if op.Op == maintmodel.Comment {
		ch := r.CommentChanges()
		return fmt.Sprintf("%s (%d change(s): %s)", maintmodel.Comment, len(ch), maintmodel.CommentObjects(ch))
	}
	return op.String()
}
