// Package syncbuf is a bytes.Buffer that goroutines may share: the output of a logger or a
// task that a test reads while it runs. It is for tests only.
package syncbuf
