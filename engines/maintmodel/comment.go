package maintmodel

import (
	"fmt"
	"strings"

	"github.com/dbopsd/dbopsd/engines"
)

// CommentChange sets the comment of a table (Column empty) or of one of
// its columns. Text is data: the engine renders it as a quoted literal,
// never as SQL; "" removes the comment.
type CommentChange struct {
	Table  engines.TableRef `json:"table"`
	Column string           `json:"column,omitempty"`
	Text   string           `json:"text"`
}

// Object is the table or column the change is on, as schema.table[.column].
func (c CommentChange) Object() string {
	if c.Column == "" {
		return c.Table.String()
	}
	return c.Table.String() + "." + c.Column
}

// CommentResult is one change as it ran: the comment before and after
// (read from the server in the same session) and the statement.
type CommentResult struct {
	CommentChange
	Statement string `json:"statement"`
	Before    string `json:"before"`
	After     string `json:"after"`
	// Applied: the statement ran (and, on PostgreSQL, was committed).
	Applied bool `json:"applied"`
}

// MaxComments bounds the changes of one Comment operation.
const MaxComments = 1000

// CheckComments reports whether changes may run as a Comment operation on
// engine.
func CheckComments(engine string, changes []CommentChange) error {
	if err := (Operation{Op: Comment}).Check(engine); err != nil {
		return err
	}
	switch {
	case len(changes) == 0:
		return fmt.Errorf("operation %s carries no comments", Comment)
	case len(changes) > MaxComments:
		return fmt.Errorf("operation %s carries %d comments; at most %d", Comment, len(changes), MaxComments)
	}
	seen := map[CommentChange]bool{}
	for _, c := range changes {
		if c.Table.Name == "" {
			return fmt.Errorf("a comment change names no table")
		}
		k := CommentChange{Table: c.Table, Column: c.Column}
		if seen[k] {
			return fmt.Errorf("the comment of %s is set twice", c.Object())
		}
		seen[k] = true
	}
	return nil
}

// CommentObjects names the objects of changes, the first few.
func CommentObjects(changes []CommentChange) string {
	var names []string
	for i, c := range changes {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(changes)-3))
			break
		}
		names = append(names, c.Object())
	}
	return strings.Join(names, ", ")
}
