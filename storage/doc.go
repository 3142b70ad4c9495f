// Package storage defines where repository objects live: the Storage
// interface, with one implementation per backend (storage/local for a
// directory, storage/s3 for S3-compatible object storage such as MinIO).
// Every backend passes the conformance suite in storage/storagetest, the S3
// one against a real MinIO server.
package storage
