package mssql

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbopsd/dbopsd/engines"
	"github.com/dbopsd/dbopsd/engines/diagmodel"
	"github.com/dbopsd/dbopsd/engines/dictmodel"
)

// diagServer is the server of DBOPS_TEST_MSSQL_DSN, or the test is
// skipped saying so (TestMain prints it on every run too). Diagnostics
// and the dictionary need no blob listener.
func diagServer(t *testing.T) engines.Conn {
	t.Helper()
	dsn := os.Getenv(mssqlEnv)
	if dsn == "" {
		t.Skipf("NOT RUN: %s is not set; this test needs a SQL Server (README, \"SQL Server\")", mssqlEnv)
	}
	return engines.Conn{DSN: dsn}
}

// TestIntegrationDiagnosticsDictionary: a daily and a monthly diagnosis
// and a dictionary of a database with awkward names, against a real
// server. The login of the DSN is sysadmin on a test instance, so every
// area must be collected.
func TestIntegrationDiagnosticsDictionary(t *testing.T) {
	server := diagServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := &Engine{}
	m := onServer(t, ctx, server)
	name, q := m.createDatabase("dbopsd_diag_销售]'")
	mustExec := m.exec
	inDB := func(batch string) {
		t.Helper()
		mustExec(fmt.Sprintf("EXEC %s.sys.sp_executesql @b", q), sql.Named("b", batch))
	}
	inDB("CREATE SCHEMA [we]]ird s]")
	inDB("CREATE TABLE dbo.[客户] (id bigint IDENTITY(1,1) PRIMARY KEY, name nvarchar(40) NOT NULL, upper_name AS UPPER(name) PERSISTED, created datetime2(3) NOT NULL DEFAULT SYSDATETIME())")
	inDB("CREATE TABLE [we]]ird s].[订单 one] (id int PRIMARY KEY, [客户] bigint NOT NULL REFERENCES dbo.[客户] (id), amount decimal(12,2) CHECK (amount >= 0))")
	inDB("CREATE INDEX [IX 订单] ON [we]]ird s].[订单 one] ([客户]) INCLUDE (amount)")
	inDB("CREATE VIEW dbo.[客户订单] AS SELECT c.name, o.amount FROM dbo.[客户] c JOIN [we]]ird s].[订单 one] o ON o.[客户] = c.id")
	inDB("EXEC sys.sp_addextendedproperty N'MS_Description', N'客户表', N'SCHEMA', N'dbo', N'TABLE', N'客户'")
	inDB("EXEC sys.sp_addextendedproperty N'MS_Description', N'客户名称', N'SCHEMA', N'dbo', N'TABLE', N'客户', N'COLUMN', N'name'")
	inDB("INSERT INTO dbo.[客户] (name) VALUES (N'张三'), (N'李四')")
	inDB("INSERT INTO [we]]ird s].[订单 one] VALUES (1, 1, 10), (2, 2, 20)")
	// An error (severity 16) in the log, a transaction left open and a
	// session blocked behind it.
	mustExec("BEGIN TRY RAISERROR(N'dbopsd diagnostics test', 16, 1) WITH LOG; END TRY BEGIN CATCH END CATCH")
	src := withDatabase(server, name)
	pool, err := open(ctx, src, name)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	holder, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var holderID int64
	if err := holder.QueryRowContext(ctx, "BEGIN TRANSACTION; UPDATE dbo.[客户] SET name = N'王五' WHERE id = 1; SELECT @@SPID;").Scan(&holderID); err != nil {
		t.Fatal(err)
	}
	defer holder.ExecContext(context.Background(), "IF @@TRANCOUNT > 0 ROLLBACK")
	waiter, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close()
	waited := make(chan error, 1)
	go func() {
		_, err := waiter.ExecContext(ctx, "SET LOCK_TIMEOUT 20000; UPDATE dbo.[客户] SET name = N'赵六' WHERE id = 1;")
		waited <- err
	}()
	time.Sleep(2 * time.Second)

	daily, err := e.CollectDiagnostics(ctx, src, name, diagmodel.Options{Level: diagmodel.Daily})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{diagmodel.AreaServer, diagmodel.AreaConnections, diagmodel.AreaSessions, diagmodel.AreaLocks,
		diagmodel.AreaCounters, diagmodel.AreaSize, diagmodel.AreaFiles, diagmodel.AreaIOStalls, diagmodel.AreaWaits,
		diagmodel.AreaLog, diagmodel.AreaCheckDB, diagmodel.AreaNativeBackups} {
		if !daily.Has(a) {
			t.Errorf("daily: area %s not collected: %s", a, daily.Why(a))
		}
	}
	if daily.Server.Version == "" || daily.Server.StartedAt.IsZero() || daily.Server.SSL == nil || daily.DatabaseBytes == nil ||
		daily.Counters[diagmodel.CounterBlocksHit] == 0 || daily.MSSQL.PageLifeExpectancy == nil || daily.MSSQL.RecoveryModel == "" {
		t.Errorf("daily facts: %+v %+v", daily.Server, daily.MSSQL)
	}
	if daily.Log.File != errorLogFile || daily.Log.Offset == 0 || daily.Log.Counts["WARNING"] == 0 {
		t.Errorf("error log: %+v", daily.Log)
	}
	if !slices.ContainsFunc(daily.Sessions, func(s diagmodel.Session) bool { return s.PID == holderID && s.IdleInTransaction }) {
		t.Errorf("the open transaction of session %d: %+v", holderID, daily.Sessions)
	}
	if !slices.ContainsFunc(daily.Blocked, func(b diagmodel.Blocked) bool { return b.BlockerPID == holderID && b.WaitSeconds > 0 }) {
		t.Errorf("the session blocked by %d: %+v", holderID, daily.Blocked)
	}
	if _, err := holder.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Errorf("the blocked update: %v", err)
	}
	monthly, err := e.CollectDiagnostics(ctx, src, name, diagmodel.Options{Level: diagmodel.Monthly, Log: daily.Log})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{diagmodel.AreaFragmentation, diagmodel.AreaRoles, diagmodel.AreaTables, diagmodel.AreaIndexes, diagmodel.AreaStatements} {
		if !monthly.Has(a) {
			t.Errorf("monthly: area %s not collected: %s", a, monthly.Why(a))
		}
	}
	if monthly.Log.Offset < daily.Log.Offset {
		t.Errorf("the error log went back: %d < %d", monthly.Log.Offset, daily.Log.Offset)
	}
	if !slices.ContainsFunc(monthly.Roles, func(r diagmodel.Role) bool { return r.Superuser }) {
		t.Errorf("no sysadmin among the logins: %+v", monthly.Roles)
	}
	if monthly.Queries > 30 {
		t.Errorf("the monthly collection sent %d statements", monthly.Queries)
	}

	d, err := e.CollectDictionary(ctx, src, name, dictmodel.Options{ExactRowsBelow: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if d.Queries > len(dictQueries())+1 {
		t.Errorf("%d statements for the dictionary", d.Queries)
	}
	var c, o, v *dictmodel.Table
	for i := range d.Tables {
		switch d.Tables[i].Name {
		case "客户":
			c = &d.Tables[i]
		case "订单 one":
			o = &d.Tables[i]
		case "客户订单":
			v = &d.Tables[i]
		}
	}
	if c == nil || o == nil || v == nil {
		t.Fatalf("tables: %+v", d.Tables)
	}
	if c.Comment != "客户表" || c.Columns[1].Comment != "客户名称" || c.Columns[0].Identity != "identity(1,1)" ||
		c.Columns[2].GeneratedKind != "stored" || c.PrimaryKey == nil || c.Rows == nil || *c.Rows != 2 || c.RowsEstimated {
		t.Errorf("客户: %+v", c)
	}
	if o.Schema != "we]ird s" || len(o.ForeignKeys) != 1 || len(o.Checks) != 1 || len(c.ReferencedBy) != 1 {
		t.Errorf("订单 one: %+v", o)
	}
	if v.Kind != dictmodel.KindView || !strings.Contains(v.Definition, "CREATE VIEW") || len(v.Reads) != 2 {
		t.Errorf("view: %+v", v)
	}
}
