package sync

// newTestLocal makes the Local of a test world. The external test file localfs_test.go
// sets it to the real internal/localfs (which imports this package, so only an external
// test package can import it).
var newTestLocal func(root string) (Local, error)

// SetTestLocal is how the external test package installs newTestLocal.
func SetTestLocal(f func(root string) (Local, error)) { newTestLocal = f }
