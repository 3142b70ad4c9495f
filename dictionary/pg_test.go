package dictionary_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/dbopsd/dbopsd/dictionary"
	"github.com/dbopsd/dbopsd/engines"
	_ "github.com/dbopsd/dbopsd/engines/all"
	"github.com/dbopsd/dbopsd/internal/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// pgFixture has every object kind the dictionary reads, Chinese
// identifiers and comments, a table name of 40 characters and two names
// that are the same once cut to Excel's 31.
const pgFixture = `
CREATE SCHEMA 销售;
COMMENT ON SCHEMA 销售 IS '销售数据';
CREATE TYPE 销售.订单状态 AS ENUM ('新建', '已付款', '已发货');
CREATE TYPE public.address AS (city text, street text);
COMMENT ON TYPE public.address IS '地址';
CREATE DOMAIN public.positive_amount AS numeric(12,2) CHECK (VALUE > 0);
CREATE TABLE public.customers (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL,
	email text CONSTRAINT customers_email_key UNIQUE,
	name_c text COLLATE "C",
	home address,
	created_at timestamptz NOT NULL DEFAULT now(),
	name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
	CONSTRAINT name_not_blank CHECK (name <> '')
);
COMMENT ON TABLE public.customers IS '客户';
COMMENT ON COLUMN public.customers.name IS '客户名称';
CREATE INDEX customers_lower_email ON public.customers (lower(email), name) INCLUDE (created_at);
CREATE TABLE 销售.订单 (
	订单号 serial PRIMARY KEY,
	客户 bigint NOT NULL CONSTRAINT 订单_客户_fkey REFERENCES public.customers(id) ON DELETE CASCADE,
	状态 销售.订单状态 NOT NULL DEFAULT '新建',
	金额 positive_amount,
	下单日期 date NOT NULL
);
COMMENT ON TABLE 销售.订单 IS '订单表';
COMMENT ON COLUMN 销售.订单.金额 IS '订单金额（元）';
CREATE INDEX 订单_客户 ON 销售.订单 (客户);
CREATE INDEX 订单_大额 ON 销售.订单 (金额) WHERE 金额 > 1000;
CREATE TABLE public.events (id bigint, at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW 销售.客户订单 AS SELECT c.name, o.金额 FROM public.customers c JOIN 销售.订单 o ON o.客户 = c.id;
COMMENT ON VIEW 销售.客户订单 IS '客户与订单';
CREATE MATERIALIZED VIEW public.order_totals AS SELECT 客户, sum(金额) AS total FROM 销售.订单 GROUP BY 客户;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.created_at := now(); RETURN NEW; END$$;
COMMENT ON FUNCTION public.touch() IS '更新时间';
CREATE TRIGGER customers_touch BEFORE INSERT OR UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.touch();
CREATE PROCEDURE public.archive(days integer) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE SEQUENCE public.invoice_no START 1000 INCREMENT 10;
COMMENT ON SEQUENCE public.invoice_no IS '发票号';
CREATE TABLE public.a_table_name_of_exactly_forty_characters (id int PRIMARY KEY, customer bigint REFERENCES public.customers(id));
CREATE TABLE public.registry_of_natural_persons_2025_q1 (id int);
CREATE TABLE public.registry_of_natural_persons_2025_q2 (id int);
INSERT INTO public.customers (name, email) VALUES ('张三', 'z@example.com'), ('李四', NULL), ('王五', 'w@example.com');
INSERT INTO 销售.订单 (客户, 金额, 下单日期) SELECT id, 1500, '2026-11-01' FROM public.customers;
INSERT INTO public.events VALUES (1, '2026-03-01', '{}'), (2, '2026-04-01', '{}');
REFRESH MATERIALIZED VIEW public.order_totals;
`

func randName(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// pgDatabase creates a database with pgFixture on the shared server.
func pgDatabase(t *testing.T) (engines.Conn, string) {
	t.Helper()
	pg := harness.SourcePostgres(t)
	name := randName("dict")
	pg.Exec(t, "postgres", "CREATE DATABASE "+name)
	t.Cleanup(func() { pg.Exec(t, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	pg.Exec(t, name, pgFixture)
	return engines.Conn{DSN: pg.DSN(name)}, name
}

func collect(t *testing.T, engine string, conn engines.Conn, name string) *dictionary.Dictionary {
	t.Helper()
	e, err := engines.New(engine)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dictionary.Collect(context.Background(), e, conn, name, dictionary.Options{ExactRowsBelow: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func table(t *testing.T, d *dictionary.Dictionary, schema, name string) *dictionary.Table {
	t.Helper()
	tb := dictionary.Find(d, dictionary.Ref{Schema: schema, Name: name})
	if tb == nil {
		t.Fatalf("no table %s.%s in the dictionary", schema, name)
	}
	return tb
}

func column(t *testing.T, tb *dictionary.Table, name string) dictionary.Column {
	t.Helper()
	for _, c := range tb.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %s in %s", name, tb.Ref())
	return dictionary.Column{}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// TestPostgresModel asserts the model of pgFixture field by field, and
// that the collector's statement count does not depend on the tables.
func TestPostgresModel(t *testing.T) {
	conn, name := pgDatabase(t)
	d := collect(t, "postgres", conn, name)

	eq(t, "engine", d.Engine, "postgres")
	eq(t, "database", d.Database, name)
	eq(t, "schemas", d.Schemas, []dictionary.Schema{{Name: "public", Comment: "standard public schema"}, {Name: "销售", Comment: "销售数据"}})
	if d.Queries > 13 {
		t.Errorf("%d statements for %d tables: the collector should need one per object kind", d.Queries, len(d.Tables))
	}

	c := table(t, d, "public", "customers")
	eq(t, "customers kind", c.Kind, "table")
	eq(t, "customers comment", c.Comment, "客户")
	eq(t, "customers rows", *c.Rows, int64(3))
	eq(t, "customers rows estimated", c.RowsEstimated, false)
	if c.DataBytes == nil || *c.DataBytes <= 0 || c.IndexBytes == nil || *c.IndexBytes <= 0 {
		t.Errorf("customers bytes: %v %v", c.DataBytes, c.IndexBytes)
	}
	eq(t, "id", column(t, c, "id"), dictionary.Column{Position: 1, Name: "id", Type: "bigint", Identity: "always"})
	eq(t, "name", column(t, c, "name"), dictionary.Column{Position: 2, Name: "name", Type: "text", Comment: "客户名称"})
	eq(t, "name_c", column(t, c, "name_c"), dictionary.Column{Position: 4, Name: "name_c", Type: "text", Nullable: true, Collation: "C"})
	eq(t, "home", column(t, c, "home"), dictionary.Column{Position: 5, Name: "home", Type: "address", Nullable: true})
	eq(t, "created_at", column(t, c, "created_at"), dictionary.Column{Position: 6, Name: "created_at", Type: "timestamp with time zone", Default: "now()"})
	eq(t, "name_upper", column(t, c, "name_upper"), dictionary.Column{Position: 7, Name: "name_upper", Type: "text", Nullable: true, Generated: "upper(name)", GeneratedKind: "stored"})
	eq(t, "primary key", *c.PrimaryKey, dictionary.Constraint{Name: "customers_pkey", Columns: []string{"id"}})
	eq(t, "uniques", c.Uniques, []dictionary.Constraint{{Name: "customers_email_key", Columns: []string{"email"}}})
	eq(t, "checks", c.Checks, []dictionary.Check{{Name: "name_not_blank", Expression: "CHECK (name <> ''::text)"}})
	eq(t, "triggers", len(c.Triggers), 1)
	eq(t, "trigger", [3]string{c.Triggers[0].Name, c.Triggers[0].Timing, c.Triggers[0].Events}, [3]string{"customers_touch", "BEFORE", "INSERT OR UPDATE"})
	var exprIndex []string
	for _, ix := range c.Indexes {
		if ix.Name == "customers_lower_email" {
			exprIndex = ix.Columns
		}
	}
	eq(t, "expression index columns", exprIndex, []string{"lower(email)", "name"})
	var refBy []string
	for _, fk := range c.ReferencedBy {
		refBy = append(refBy, fk.Schema+"."+fk.Table+"."+fk.Name)
	}
	slices.Sort(refBy)
	eq(t, "customers referenced by", refBy, []string{"public.a_table_name_of_exactly_forty_characters.a_table_name_of_exactly_forty_characters_customer_fkey", "销售.订单.订单_客户_fkey"})

	o := table(t, d, "销售", "订单")
	eq(t, "订单 comment", o.Comment, "订单表")
	eq(t, "订单 foreign keys", o.ForeignKeys, []dictionary.ForeignKey{{Name: "订单_客户_fkey", Schema: "销售", Table: "订单", Columns: []string{"客户"},
		RefSchema: "public", RefTable: "customers", RefColumns: []string{"id"}, OnUpdate: "NO ACTION", OnDelete: "CASCADE"}})
	eq(t, "订单号", column(t, o, "订单号"), dictionary.Column{Position: 1, Name: "订单号", Type: "integer", Default: "nextval('\"销售\".\"订单_订单号_seq\"'::regclass)"})
	eq(t, "状态", column(t, o, "状态"), dictionary.Column{Position: 3, Name: "状态", Type: "\"销售\".\"订单状态\"", Default: "'新建'::\"销售\".\"订单状态\""})
	eq(t, "金额", column(t, o, "金额"), dictionary.Column{Position: 4, Name: "金额", Type: "positive_amount", Nullable: true, Comment: "订单金额（元）"})
	var big *dictionary.Index
	for i := range o.Indexes {
		if o.Indexes[i].Name == "订单_大额" {
			big = &o.Indexes[i]
		}
	}
	if big == nil {
		t.Fatalf("no index 订单_大额: %+v", o.Indexes)
	}
	eq(t, "partial index", [3]string{big.Method, big.Predicate, big.Columns[0]}, [3]string{"btree", `"金额"::numeric > 1000::numeric`, `"金额"`})
	if big.Bytes == nil || *big.Bytes <= 0 {
		t.Errorf("index size %v", big.Bytes)
	}

	ev := table(t, d, "public", "events")
	eq(t, "events kind", ev.Kind, "partitioned table")
	eq(t, "events key", ev.PartitionKey, "RANGE (at)")
	eq(t, "events partitions", ev.Partitions, []dictionary.Ref{{Schema: "public", Name: "events_2026"}})
	eq(t, "events rows", *ev.Rows, int64(2))
	p := table(t, d, "public", "events_2026")
	eq(t, "partition of", *p.PartitionOf, dictionary.Ref{Schema: "public", Name: "events"})
	eq(t, "partition bound", p.PartitionBound, "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')")

	v := table(t, d, "销售", "客户订单")
	eq(t, "view kind", v.Kind, "view")
	eq(t, "view comment", v.Comment, "客户与订单")
	eq(t, "view reads", v.Reads, []dictionary.Ref{{Schema: "public", Name: "customers"}, {Schema: "销售", Name: "订单"}})
	if v.Rows != nil || v.Definition == "" {
		t.Errorf("view rows %v, definition %q", v.Rows, v.Definition)
	}
	m := table(t, d, "public", "order_totals")
	eq(t, "matview kind", m.Kind, "materialized view")
	eq(t, "matview reads", m.Reads, []dictionary.Ref{{Schema: "销售", Name: "订单"}})
	eq(t, "matview rows", *m.Rows, int64(3))

	eq(t, "routines", d.Routines, []dictionary.Routine{
		{Schema: "public", Name: "archive", Kind: "procedure", Arguments: "IN days integer", Language: "sql"},
		{Schema: "public", Name: "touch", Kind: "function", Returns: "trigger", Language: "plpgsql", Comment: "更新时间"},
	})
	var inv *dictionary.Sequence
	for i := range d.Sequences {
		if d.Sequences[i].Name == "invoice_no" {
			inv = &d.Sequences[i]
		}
	}
	if inv == nil || *inv.Start != 1000 || *inv.Increment != 10 || inv.Comment != "发票号" || inv.Type != "bigint" {
		t.Errorf("sequence invoice_no: %+v", inv)
	}
	eq(t, "types", d.Types, []dictionary.Type{
		{Schema: "public", Name: "address", Kind: "composite", Comment: "地址", Attributes: []dictionary.Column{
			{Position: 1, Name: "city", Type: "text", Nullable: true}, {Position: 2, Name: "street", Type: "text", Nullable: true}}},
		{Schema: "public", Name: "positive_amount", Kind: "domain", BaseType: "numeric(12,2)", Constraints: []string{"CHECK (VALUE > 0::numeric)"}},
		{Schema: "销售", Name: "订单状态", Kind: "enum", Labels: []string{"新建", "已付款", "已发货"}},
	})

	// The stored form reads back the same.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back dictionary.Dictionary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, d) {
		t.Error("the dictionary does not survive a JSON round trip")
	}
}
