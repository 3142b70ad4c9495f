// Package blobsrv is the listener SQL Server backs up to and restores from:
// the subset of the Azure Blob Storage REST API that BACKUP … TO URL and
// RESTORE … FROM URL use with a shared access signature (SAS), served by
// dbopsd itself so that a backup's bytes never land on the database host.
//
// # What it serves
//
// Block blobs in containers that exist only while one backup or restore
// runs (Server.Receive, Server.Send). A container's URL is
// https://LISTENER/CONTAINER/BLOB, the path style SQL Server writes:
//
//   - Put Block (PUT ?comp=block&blockid=ID): the body streams straight into
//     a new part of the backup (engines.PartSink), one part per block, so the
//     repository chunks, compresses, encrypts and deduplicates it like every
//     other part. Blocks may arrive in any order and in parallel.
//   - Put Block List (PUT ?comp=blocklist): commits the blob as the named
//     blocks, in the list's order. A list naming a block that was never
//     received is refused (InvalidBlockList), as Azure does.
//   - Put Blob (PUT with x-ms-blob-type: BlockBlob): a blob in one request.
//   - Get Blob Properties (HEAD), Get Blob with a range (GET, Range or
//     x-ms-range), Get Block List, Delete Blob, List Blobs (GET
//     ?restype=container&comp=list), and the lease calls SQL Server makes
//     around them (acknowledged, not enforced: a container has one user).
//
// SQL Server reaches the listener by a host name (not an IP address) on
// port 443, with a certificate it trusts (as WAL-G's SQL Server proxy
// documents); the name is the daemon's mssql_url.
//
// Only committed blobs are listed or readable. A backup that stops before
// its blobs are committed leaves nothing listed here, and its repository
// writer is never committed, so nothing is listed there either.
//
// # The index
//
// A committed blob is a list of parts (Blob); Container.Close returns the
// list, which the adapter stores with the backup (a meta part), and Send
// serves it back on restore, reading each block's part with the ranges the
// client asks for.
//
// # Authentication
//
// Every request carries a service SAS signed with the listener's account
// key (HMAC-SHA256 over Azure's string-to-sign of version 2020-12-06 and
// later, sas.go). The signature, the validity window (st, se), the
// protocol (spr) and the permissions (sp) are checked; stored access
// policies (si) and IP ranges (sip) are refused, since the listener never
// issues them.
package blobsrv
