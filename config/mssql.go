package config

import (
	"crypto/tls"
	"net"
	"net/url"
	"path/filepath"
)

// The blob listener SQL Server backs up through (engines/mssql/blobsrv):
// mssql_listen is where it listens, mssql_url how SQL Server reaches it:
// https://NAME on port 443, so mssql_listen is normally ":443", or a port
// that 443 is forwarded to.
// It serves HTTPS with the daemon's tls_cert and tls_key, whose
// certificate must name the host of mssql_url and be trusted by the SQL
// Server hosts.

// validateMSSQLListen checks the blob listener's settings: both or neither,
// an address, an https:// URL with a host and port, and a certificate and
// key that load as a pair. (A SQL Server database in a policy without a
// listener validates, as the sample does; its backups fail saying what to
// set.)
func (d *decoder) validateMSSQLListen(dm *Daemon) {
	if dm.MSSQLListen == "" && dm.MSSQLURL == "" {
		return
	}
	if dm.MSSQLListen == "" {
		d.errorf(d.at(dm, "mssql_url"), "Missing mssql_listen",
			"daemon: mssql_url has no effect without mssql_listen, the host:port the blob listener SQL Server backs up to listens on (e.g. \"0.0.0.0:9444\").")
		return
	}
	if _, port, err := net.SplitHostPort(dm.MSSQLListen); err != nil || port == "" {
		d.errorf(d.at(dm, "mssql_listen"), "Invalid address",
			"daemon: mssql_listen must be host:port (e.g. \"0.0.0.0:9444\"): %v.", err)
		return
	}
	if dm.MSSQLListen == dm.RequestListen || dm.MSSQLListen == dm.HTTPListen {
		d.errorf(d.at(dm, "mssql_listen"), "Address used twice",
			"daemon: mssql_listen %q is the address of request_listen or http_listen; the blob listener needs a port of its own.", dm.MSSQLListen)
		return
	}
	// SQL Server's BACKUP TO URL reaches a host name, never an address,
	// on port 443 only (as WAL-G's SQL Server proxy documents).
	u, err := url.Parse(dm.MSSQLURL)
	if dm.MSSQLURL == "" || err != nil || u.Scheme != "https" || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil ||
		(u.Port() != "" && u.Port() != "443") || (u.Path != "" && u.Path != "/") {
		d.errorf(d.at(dm, "mssql_url"), "Invalid mssql_url",
			"daemon: mssql_url must say how SQL Server reaches the blob listener, https://NAME (e.g. \"https://dbopsd.example.com\"): a host name in the certificate of tls_cert, not an IP address, on port 443, the only one SQL Server's BACKUP TO URL uses.")
		return
	}
	if dm.TLSCert == "" || dm.TLSKey == "" {
		d.errorf(d.at(dm, "mssql_listen"), "Missing TLS certificate",
			"daemon: mssql_listen serves SQL Server over HTTPS only and needs tls_cert and tls_key, a certificate for %s that the SQL Server hosts trust, and its key.", u.Hostname())
		return
	}
	if dm.RequestListen != "" {
		return // validateRequestListen loaded the pair
	}
	if _, err := tls.LoadX509KeyPair(dm.TLSCert, dm.TLSKey); err != nil {
		d.errorf(d.at(dm, "tls_cert"), "Invalid certificate",
			"daemon: tls_cert %s and tls_key %s do not load as a certificate and its key: %v.", dm.TLSCert, dm.TLSKey, err)
	}
}

// SQL Server's own settings of a database or restore_target block:
// compression (database only; default true) is BACKUP's WITH COMPRESSION
// or NO_COMPRESSION; backup_dir is the fallback for servers that cannot
// reach the blob listener: a directory both the SQL Server host and dbopsd
// see (a share), as SQL Server names it (e.g. "\\\\fs1\\dbops" or
// "/var/opt/mssql/dbops"), which BACKUP … TO DISK and RESTORE … FROM DISK
// use and dbopsd empties after; backup_dir_local is the same directory as
// dbopsd names it (e.g. "/mnt/dbops"), when the paths differ.

// validateMSSQLNative refuses these settings on other engines, and a
// backup_dir_local without backup_dir or not an absolute path.
func (d *decoder) validateMSSQLNative(obj any, owner, engine, dir, local string) {
	if engine != "mssql" {
		for _, name := range []string{"compression", "backup_dir", "backup_dir_local"} {
			if d.has(obj, name) {
				d.errorf(d.at(obj, name), "SQL Server setting",
					"%s: %s is a setting of SQL Server's native backups; this database is %s.", owner, name, engine)
			}
		}
		return
	}
	if local != "" && dir == "" {
		d.errorf(d.at(obj, "backup_dir_local"), "Missing backup_dir",
			"%s: backup_dir_local is where dbopsd sees backup_dir, which is not set.", owner)
	}
	if local != "" && !filepath.IsAbs(local) {
		d.errorf(d.at(obj, "backup_dir_local"), "Invalid path",
			"%s: backup_dir_local must be an absolute path on dbopsd's host (e.g. \"/mnt/dbops\").", owner)
	}
	if dir != "" && local == "" && !filepath.IsAbs(dir) {
		d.errorf(d.at(obj, "backup_dir"), "Missing backup_dir_local",
			"%s: backup_dir \"%s\" is not a path on dbopsd's host; set backup_dir_local to where dbopsd sees the same directory (e.g. \"/mnt/dbops\").", owner, dir)
	}
}
