// Package storagetest is the conformance suite every storage backend passes:
// the Storage contract, as tests, against real backends (the S3 one against
// a real MinIO server). A backend's tests call Run with a function
// that returns a fresh, empty store for each subtest, or RunWith to declare
// optional features (object lock) whose contract is then tested too.
package storagetest
