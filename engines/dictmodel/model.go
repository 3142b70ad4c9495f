// Package dictmodel is the neutral model of a data dictionary: what the
// engine adapters' collectors (engines/<engine>/dictionary.go) fill and the
// renderers of package dictionary read. It sits under engines so that the
// adapters can fill it without importing anything above them; it imports
// nothing of the module.
//
// The model is versioned (Version) and stored as JSON (history, kind
// "dictionary"), so a stored dictionary can be rendered and compared later.
// A field left empty or absent means "not collected" or "not applicable to
// this engine", never zero: Rows, DataBytes and IndexBytes are pointers for
// that reason.
package dictmodel

import "time"

// Version is the model's version, stored in every Dictionary.
const Version = 1

// Options tune a collection.
type Options struct {
	// ExactRowsBelow: tables whose estimated row count is below it are
	// counted exactly (count(*)); others keep the server's estimate and are
	// marked RowsEstimated. 0 counts nothing exactly.
	ExactRowsBelow int64
}

// Dictionary is one database's schema as a collector read it.
type Dictionary struct {
	Version       int       `json:"version"`
	Engine        string    `json:"engine"`
	Database      string    `json:"database"`
	ServerVersion string    `json:"server_version,omitempty"`
	CollectedAt   time.Time `json:"collected_at"`
	// Queries is how many statements the collector sent: bounded by the
	// number of object kinds (and of count batches), not of tables.
	Queries        int        `json:"queries"`
	ExactRowsBelow int64      `json:"exact_rows_below"`
	Schemas        []Schema   `json:"schemas"`
	Tables         []Table    `json:"tables"`
	Routines       []Routine  `json:"routines,omitempty"`
	Sequences      []Sequence `json:"sequences,omitempty"`
	Types          []Type     `json:"types,omitempty"`
}

// Schema is a schema (PostgreSQL) or the database itself (MySQL).
type Schema struct {
	Name    string `json:"name"`
	Comment string `json:"comment,omitempty"`
}

// Kinds of Table.
const (
	KindTable            = "table"
	KindPartitionedTable = "partitioned table"
	KindView             = "view"
	KindMaterializedView = "materialized view"
	KindForeignTable     = "foreign table"
)

// Ref names a table.
type Ref struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

func (r Ref) String() string { return r.Schema + "." + r.Name }

// Table is a table, view, materialized view, partitioned or foreign table.
type Table struct {
	Schema  string `json:"schema"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Comment string `json:"comment,omitempty"`
	// Engine is the storage engine (MySQL), Collation the table's default
	// collation (MySQL); a column's Collation is set only where it differs.
	Engine    string   `json:"engine,omitempty"`
	Collation string   `json:"collation,omitempty"`
	Columns   []Column `json:"columns"`

	PrimaryKey   *Constraint  `json:"primary_key,omitempty"`
	Uniques      []Constraint `json:"uniques,omitempty"`
	Indexes      []Index      `json:"indexes,omitempty"`
	ForeignKeys  []ForeignKey `json:"foreign_keys,omitempty"`
	ReferencedBy []ForeignKey `json:"referenced_by,omitempty"`
	Checks       []Check      `json:"checks,omitempty"`
	Triggers     []Trigger    `json:"triggers,omitempty"`

	// Definition is a view's query; Reads the tables and views it reads.
	Definition string `json:"definition,omitempty"`
	Reads      []Ref  `json:"reads,omitempty"`

	// Partitioning: PartitionKey on a partitioned table with its
	// Partitions; PartitionOf and PartitionBound on a partition.
	PartitionKey   string `json:"partition_key,omitempty"`
	Partitions     []Ref  `json:"partitions,omitempty"`
	PartitionOf    *Ref   `json:"partition_of,omitempty"`
	PartitionBound string `json:"partition_bound,omitempty"`
	// PartitionNames are MySQL's partitions, which are not tables.
	PartitionNames []string `json:"partition_names,omitempty"`

	SystemVersioned bool `json:"system_versioned,omitempty"`

	Rows          *int64 `json:"rows,omitempty"`
	RowsEstimated bool   `json:"rows_estimated,omitempty"`
	DataBytes     *int64 `json:"data_bytes,omitempty"`
	IndexBytes    *int64 `json:"index_bytes,omitempty"`
}

// Ref is the table's name.
func (t *Table) Ref() Ref { return Ref{t.Schema, t.Name} }

// Column is a column of a table, view or composite type.
type Column struct {
	Position int    `json:"position"`
	Name     string `json:"name"`
	// Type as the server spells it ("character varying(40)", "varchar(40)").
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	Default  string `json:"default,omitempty"`
	Comment  string `json:"comment,omitempty"`
	// Generated is a generated column's expression, GeneratedKind
	// "stored" or "virtual".
	Generated     string `json:"generated,omitempty"`
	GeneratedKind string `json:"generated_kind,omitempty"`
	// Identity: "always", "by default" (PostgreSQL), "auto_increment" (MySQL).
	Identity  string `json:"identity,omitempty"`
	Collation string `json:"collation,omitempty"`
}

// Constraint is a primary or unique key.
type Constraint struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

// Index is an index of a table.
type Index struct {
	Name      string   `json:"name"`
	Columns   []string `json:"columns"` // expressions as the server prints them
	Method    string   `json:"method,omitempty"`
	Unique    bool     `json:"unique,omitempty"`
	Primary   bool     `json:"primary,omitempty"`
	Predicate string   `json:"predicate,omitempty"`
	Bytes     *int64   `json:"bytes,omitempty"`
}

// ForeignKey is a foreign key from Schema.Table(Columns) to
// RefSchema.RefTable(RefColumns); the same value appears in the referencing
// table's ForeignKeys and in the referenced table's ReferencedBy.
type ForeignKey struct {
	Name       string   `json:"name"`
	Schema     string   `json:"schema"`
	Table      string   `json:"table"`
	Columns    []string `json:"columns"`
	RefSchema  string   `json:"ref_schema"`
	RefTable   string   `json:"ref_table"`
	RefColumns []string `json:"ref_columns"`
	OnUpdate   string   `json:"on_update,omitempty"`
	OnDelete   string   `json:"on_delete,omitempty"`
}

// Check is a check constraint.
type Check struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
}

// Trigger is a trigger of a table.
type Trigger struct {
	Name       string `json:"name"`
	Timing     string `json:"timing,omitempty"` // BEFORE, AFTER, INSTEAD OF
	Events     string `json:"events,omitempty"` // INSERT, UPDATE, ...
	Definition string `json:"definition"`
}

// Routine is a function or procedure.
type Routine struct {
	Schema    string `json:"schema"`
	Name      string `json:"name"`
	Kind      string `json:"kind"` // "function", "procedure", "aggregate"
	Arguments string `json:"arguments"`
	Returns   string `json:"returns,omitempty"`
	Language  string `json:"language,omitempty"`
	Comment   string `json:"comment,omitempty"`
}

// Sequence is a sequence.
type Sequence struct {
	Schema    string `json:"schema"`
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"`
	Start     *int64 `json:"start,omitempty"`
	Increment *int64 `json:"increment,omitempty"`
	Min       *int64 `json:"min,omitempty"`
	Max       *int64 `json:"max,omitempty"`
	Cycle     bool   `json:"cycle,omitempty"`
	OwnedBy   string `json:"owned_by,omitempty"` // schema.table.column
	Comment   string `json:"comment,omitempty"`
}

// Kinds of Type.
const (
	TypeEnum      = "enum"
	TypeComposite = "composite"
	TypeDomain    = "domain"
)

// Type is a user-defined type (PostgreSQL): an enum with its Labels, a
// composite with its Attributes, a domain over BaseType with Constraints.
type Type struct {
	Schema      string   `json:"schema"`
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Labels      []string `json:"labels,omitempty"`
	Attributes  []Column `json:"attributes,omitempty"`
	BaseType    string   `json:"base_type,omitempty"`
	Constraints []string `json:"constraints,omitempty"`
	Comment     string   `json:"comment,omitempty"`
}
