// Package atomicfile replaces files so that a reader or a crash sees the old or the new content,
// never a part: temp file in the same directory, mode set before any byte is written (a secret
// is never readable by others, not even briefly), fsync, rename, fsync of the directory.
package atomicfile
