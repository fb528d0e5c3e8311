// Package goldenfile compares test output with files kept in the repository; `go test -update`
// rewrites them. It is for tests only.
package goldenfile
