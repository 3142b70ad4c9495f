package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// badConfigs lists every fixture in testdata/bad with the one error it must
// produce: a substring of its summary or detail, and where its subject
// starts (line:column). secret, when set, must not appear anywhere in the
// printed diagnostics.
var badConfigs = []struct {
	file   string
	want   string
	pos    string
	secret string
}{
	{"syntax_error.hcl", "Invalid expression", "19:17", ""},
	{"unknown_attribute.hcl", `Did you mean "max_parallel"?`, "19:3", ""},
	{"unknown_block.hcl", "Unsupported block type", "18:1", ""},
	{"missing_required.hcl", `The argument "dsn" is required`, "18:19", ""},
	{"bad_engine.hcl", `engine "oracle" is not one of`, "19:12", ""},
	{"bad_storage_type.hcl", "Unknown storage type", "19:10", ""},
	{"storage_missing_bucket.hcl", `storage "minio": an s3 storage needs bucket`, "18:1", ""},
	{"local_with_bucket.hcl", `bucket has no meaning for type = "local"`, "21:12", ""},
	{"bad_endpoint.hcl", "endpoint is host:port without a scheme", "20:14", ""},
	{"unknown_policy.hcl", `database "rating": policy "standrad" is not defined; defined: standard. Did you mean "standard"?`, "21:12", ""},
	{"unknown_verify_target.hcl", `Unknown restore target "scratch-pgsql"`, "20:19", ""},
	{"unknown_repository_storage.hcl", `repository: storage "primay" is not defined; defined: primary.`, "6:16", ""},
	{"unknown_mirror.hcl", `Unknown storage "offsite"`, "7:16", ""},
	{"unknown_report_notify.hcl", `report "monthly": notify "bureau" is not defined; none is defined`, "19:12", ""},
	{"bad_report_schedule.hcl", `report "monthly": schedule = "daily" is not one of "monthly", "weekly"`, "19:14", ""},
	{"report_missing_font.hcl", `report "monthly": the chart font cannot be used: open /nonexistent/NotoSansCJK-Regular.ttc: no such file or directory (install Debian's fonts-noto-cjk`, "19:10", ""},
	{"report_bad_per.hcl", `report "monthly": per "server" is not one of "site", "database"`, "19:9", ""},
	{"report_bad_dictionaries.hcl", `report "monthly": dictionaries "some" is not one of "changed", "all"`, "19:18", ""},
	{"duplicate_database.hcl", `Duplicate database "queue"`, "18:10", ""},
	{"duplicate_daemon.hcl", "Duplicate daemon block", "20:1", ""},
	{"bad_full_cron.hcl", "Invalid full schedule", "19:10", ""},
	{"bad_cron_fields.hcl", "5 fields", "19:10", ""},
	{"bad_differential.hcl", `differential = "fortnightly" is not one of`, "19:18", ""},
	{"bad_verify.hcl", `Did you mean "after_full"?`, "19:12", ""},
	{"verify_without_target.hcl", "Missing verify_target", "19:12", ""},
	{"bad_window.hcl", "Invalid window", "19:12", ""},
	{"reconcile_unknown_database.hcl", `reconcile "persons": right names database "queu", which is not defined; defined: queue. Did you mean "queue"?`, "20:11", ""},
	{"reconcile_empty_key.hcl", `reconcile "persons": key must name at least one column`, "21:11", ""},
	{"reconcile_no_table.hcl", `reconcile "persons": left needs table`, "19:11", ""},
	{"reconcile_bad_schedule.hcl", `schedule = "fortnightly" is not one of "biweekly", "weekly", "monthly"`, "22:14", ""},
	{"bad_maintenance_window.hcl", "Invalid maintenance_window", "19:24", ""},
	{"bad_maintenance_lock_timeout.hcl", `"5 seconds" is not a duration`, "19:30", ""},
	{"bad_full_day.hcl", `full_day = "sonday" is not a day of the week; write one of "sunday", "monday",`, "19:14", ""},
	{"bad_full_time.hcl", `full_time = "24:00" is not a time of day; write when fulls start as "HH:MM" (00:00 to 23:59)`, "19:15", ""},
	{"bad_differential_time.hcl", `differential_time = "3:30" is not a time of day`, "19:23", ""},
	{"bad_differential_anchor.hcl", `differential_anchor = "2024-02-30" is not a date; write the date biweekly differentials count their fortnights from as "YYYY-MM-DD"`, "20:25", ""},
	{"bad_timezone.hcl", `timezone "Asia/Beijing" is not a known time zone`, "19:14", ""},
	{"critical_monthly_only.hcl", "critical databases need a differential at least every two weeks", "25:14", ""},
	{"critical_cron_monthly.hcl", "critical databases need a differential at least every two weeks", "25:14", ""},
	{"bad_signer_key.hcl", "Invalid public key", "19:16", ""},
	{"bad_role.hcl", `role "admin" is not one of "dba", "approver", "auditor"`, "20:16", ""},
	{"duplicate_signer_key.hcl", `same public key as signer "zhang.wei"`, "23:16", ""},
	{"dsn_password_postgres.hcl", "put the password in password = env(", "20:12", "Zq7-Secret-Pg-Pass"},
	{"dsn_password_keyvalue.hcl", "put the password in password = env(", "20:12", "Kv-Secret Pass"},
	{"dsn_password_mysql.hcl", "put the password in password = env(", "20:12", "My-Secret-Maria-Pass"},
	{"dsn_password_mssql.hcl", "put the password in password = env(", "20:12", "Ms-Secret-Pass"},
	{"bad_mssql_dsn.hcl", "sqlserver://user@host:1433?database=NAME", "20:12", ""},
	{"bad_mysql_dsn.hcl", "Invalid DSN", "20:12", ""},
	{"unreadable_file.hcl", "cannot read secret file", "7:16", ""},
	{"negative_approvals.hcl", "approvals: restore must be 0 or more", "19:13", ""},
	{"bad_ratio.hcl", "differential_max_ratio must be more than 0 and at most 1", "19:28", ""},
	{"zero_ratio.hcl", "differential_max_ratio must be more than 0 and at most 1", "19:28", ""},
	{"missing_repository.hcl", "Missing repository block", "1:1", ""},
	{"engine_mismatch.hcl", `database "rating" is mysql, but its policy "verified-pg" verifies on restore_target "scratch-pg", which is postgres`, "29:12", ""},
	{"verify_target_not_scratch.hcl", "Verify target is not a scratch target", "19:19", ""},
	{"bad_event.hcl", `event "backup_failled" is not one of`, "21:12", ""},
	{"bad_notify_type.hcl", "Unknown notify type", "19:12", ""},
	{"email_missing_smtp.hcl", `notify "bureau": an email notify needs smtp`, "18:1", ""},
	{"bad_language.hcl", `language "fr" is not one of "zh-CN", "en"`, "19:14", ""},
	{"bad_max_parallel.hcl", "max_parallel must be at least 1", "19:18", ""},
	{"wrong_type.hcl", "max_parallel must be a whole number", "19:18", ""},
	{"bad_retention.hcl", "retention generations must be at least 1", "20:19", ""},
	{"request_listen_without_tls.hcl", "request_listen serves signed requests over HTTPS only and needs tls_cert and tls_key", "19:20", ""},
	{"request_listen_without_key.hcl", "request_listen serves signed requests over HTTPS only and needs tls_key:", "19:20", ""},
	{"bad_request_listen.hcl", `daemon: request_listen must be host:port (e.g. "0.0.0.0:9443"`, "19:20", ""},
	{"mssql_listen_without_tls.hcl", "mssql_listen serves SQL Server over HTTPS only and needs tls_cert and tls_key, a certificate for dbopsd.example.com", "19:18", ""},
	{"bad_mssql_url.hcl", "mssql_url must say how SQL Server reaches the blob listener, https://NAME (e.g. \"https://dbopsd.example.com\"): a host name in the certificate of tls_cert, not an IP address, on port 443", "20:18", ""},
	{"mssql_url_without_listen.hcl", "mssql_url has no effect without mssql_listen", "19:15", ""},
	{"mssql_setting_on_postgres.hcl", `database "queue": compression is a setting of SQL Server's native backups; this database is postgres.`, "17:17", ""},
	{"backup_dir_local_without_backup_dir.hcl", `database "datahub": backup_dir_local is where dbopsd sees backup_dir, which is not set.`, "17:22", ""},
	{"relative_backup_dir_local.hcl", `database "datahub": backup_dir_local must be an absolute path on dbopsd's host`, "18:22", ""},
	{"windows_backup_dir_without_local.hcl", `restore_target "scratch": backup_dir "D:\dbops" is not a path on dbopsd's host; set backup_dir_local`, "22:16", ""},
	{"request_listen_http_port.hcl", `request_listen "0.0.0.0:9187" takes the port of http_listen "127.0.0.1:9187"`, "19:20", ""},
	{"unreadable_tls_cert.hcl", "daemon: tls_cert: cannot read testdata/bad/no-such-tls.crt: no such file or directory", "20:20", ""},
	{"unreadable_tls_key.hcl", "daemon: tls_key: cannot read /nonexistent/dbopsd/tls.key: no such file or directory", "21:20", ""},
	{"tls_key_mismatch.hcl", "tls_key testdata/tls/other.key is not the private key of the certificate in tls_cert testdata/tls/server.crt: tls: private key does not match public key", "21:20", ""},
	{"tls_cert_not_pem.hcl", "tls_cert testdata/good/repo.pass holds no PEM certificate", "20:20", ""},
	{"bad_smtp_tls.hcl", `notify "bureau": smtp_tls "ssl" is not one of "starttls", "implicit"`, "21:14", ""},
	{"unreadable_notify_ca_file.hcl", `notify "bureau": ca_file: cannot read testdata/bad/no-such-ca.pem: no such file or directory`, "21:14", ""},
	{"notify_ca_file_not_pem.hcl", `notify "bureau": ca_file testdata/good/repo.pass holds no PEM certificate`, "21:14", ""},
	{"webhook_ca_file_http.hcl", `notify "oncall": ca_file is set but url is http://, which uses no certificate`, "21:13", ""},
	{"deep_nesting.hcl", "The policy file nests more than 64 levels deep here", "10:81", ""},
	{"env_value_in_error.hcl", `daemon: timezone (the value of env("DBOPS_TEST_LEAK_ENV")) is not a known time zone`, "19:14", "Env-Leak-Value-77"},
	{"file_value_in_error.hcl", `policy "standard": full = (the value of file("leak.txt")) is not one of`, "10:18", "root:x:0:0"},
	{"database_name_slash.hcl", `database "a/b": a database name is one segment of the repository's object keys: 1 to 255 bytes, not "." or "..", without "/", "\" or NUL`, "13:10", ""},
	{"database_name_dot.hcl", `database ".": a database name is one segment`, "13:10", ""},
	{"database_name_dotdot.hcl", `database "..": a database name is one segment`, "13:10", ""},
	{"database_name_traversal.hcl", `database "../../x": a database name is one segment`, "13:10", ""},
	{"database_name_empty.hcl", `database "": a database name is one segment`, "13:10", ""},
	{"unknown_volume_database.hcl", `volume table "自然人库": database "queu" is not defined; defined: queue. Did you mean "queue"?`, "20:16", ""},
	{"volume_table_unqualified.hcl", `volume table "法人库": table "companies" of PostgreSQL database "queue" must be written schema.table`, "22:16", ""},
	{"volume_negative_threshold.hcl", "volume: exact_rows_below must be 0 or more", "19:22", ""},
	{"bad_diagnostics_time.hcl", `policy "night": diagnostics: daily_time = "25:00" is not a time of day`, "20:18", ""},
	{"bad_suppress_until.hcl", `suppress "long-transaction": until = "2027-13-01" is not a date`, "22:16", ""},
	{"bad_suppress_check.hcl", `suppress "Long Transaction": a check id is lower case words joined by "-"`, "20:14", ""},
	{"suppress_without_reason.hcl", `The argument "reason" is required`, "20:33", ""},
	{"duplicate_database_diagnostics.hcl", `database "queue" already has a diagnostics block at`, "20:3", ""},
	{"bad_capacity.hcl", `capacity = "lots" is not a size`, "20:16", ""},
	{"webhook_ca_file_not_pem.hcl", `notify "oncall": ca_file testdata/good/repo.pass holds no PEM certificate (a block starting -----BEGIN CERTIFICATE-----): it should hold the CA certificates that signed the webhook receiver's certificate`, "21:13", ""},
}

func TestBadConfigs(t *testing.T) {
	// The fixtures' env() calls must see nothing, but for the one whose
	// value must not be shown.
	t.Setenv("DBOPS_TEST_UNSET_PASSPHRASE", "")
	os.Unsetenv("DBOPS_TEST_UNSET_PASSPHRASE")
	t.Setenv("DBOPS_TEST_LEAK_ENV", "Env-Leak-Value-77")

	files, err := filepath.Glob("testdata/bad/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, tc := range badConfigs {
		listed = append(listed, filepath.Join("testdata/bad", tc.file))
	}
	for _, f := range files {
		if !slices.Contains(listed, f) {
			t.Errorf("%s has no row in badConfigs", f)
		}
	}

	for _, tc := range badConfigs {
		t.Run(strings.TrimSuffix(tc.file, ".hcl"), func(t *testing.T) {
			path := filepath.Join("testdata/bad", tc.file)
			cfg, diags := Load(path)
			var out bytes.Buffer
			if err := PrintDiagnostics(&out, diags); err != nil {
				t.Fatal(err)
			}
			if cfg != nil {
				t.Errorf("Load returned a Config despite errors")
			}
			errs := errorsOf(diags)
			if len(errs) != 1 {
				t.Fatalf("want exactly 1 error, got %d:\n%s", len(errs), out.String())
			}
			d := errs[0]
			if msg := d.Summary + ": " + d.Detail; !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			if d.Subject == nil {
				t.Fatalf("error has no subject:\n%s", out.String())
			}
			if d.Subject.Filename != path {
				t.Errorf("subject file %q, want %q", d.Subject.Filename, path)
			}
			if got := posOf(d.Subject); got != tc.pos {
				t.Errorf("subject at %s, want %s:\n%s", got, tc.pos, out.String())
			}
			// The printed form names the file and line and shows a snippet.
			if want := path + " line " + strings.Split(tc.pos, ":")[0]; !strings.Contains(out.String(), want) {
				t.Errorf("printed diagnostics lack %q:\n%s", want, out.String())
			}
			if strings.Contains(out.String(), "source code not available") {
				t.Errorf("printed diagnostics lack the snippet:\n%s", out.String())
			}
			if tc.secret != "" {
				for _, where := range []string{out.String(), d.Summary, d.Detail, diags.Error()} {
					if strings.Contains(where, tc.secret) {
						t.Errorf("the password appears in the diagnostics:\n%s", where)
					}
				}
				// A secret written in the file shows as a fixed mask; one from
				// env() or file() as the call.
				src, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(src, []byte(tc.secret)) && !strings.Contains(out.String(), `********`) {
					t.Errorf("the snippet should show the password as asterisks:\n%s", out.String())
				}
			}
		})
	}
}

func errorsOf(diags hcl.Diagnostics) hcl.Diagnostics {
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	return errs
}

func posOf(r *hcl.Range) string {
	return fmt.Sprintf("%d:%d", r.Start.Line, r.Start.Column)
}
