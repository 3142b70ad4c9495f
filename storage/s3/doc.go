// Package s3 stores repository objects in a bucket of S3-compatible object
// storage (MinIO on premises, or any S3 API), through minio-go with
// path-style addressing.
//
// # Errors
//
// A missing object wraps storage.ErrNotExist. Connection failures, timeouts,
// 5xx answers and throttling (SlowDown) wrap fault.ErrTransient; a delete
// refused by object lock wraps storage.ErrRetained (see below); access
// denied, a missing bucket, bad credentials and TLS verification failures
// wrap fault.ErrPermanent. The client itself does not retry: wrap the store with
// storage.WithRetry. No error carries the secret key.
//
// # Object lock
//
// On a bucket with object lock, PutOptions.RetainUntil puts the object under
// COMPLIANCE retention until that date, and Delete removes every version of
// the key, so a retained object makes Delete fail rather than hide behind a
// delete marker. That failure is a *storage.RetentionError (errors.Is
// storage.ErrRetained holds, and it is never transient) with the key and
// the retain-until date and legal hold of the versions that stay, read back
// from S3 because the refusal does not carry them.
package s3
