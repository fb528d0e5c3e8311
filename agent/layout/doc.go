// Package layout is appagent's on-disk contract: every path it uses under the volume's
// state directory, in the image's /usr/share/appagent and in /run/appagent, declared once.
// The packages that read and write those files name them from here; how a file is written
// (atomically, through the volume's no-follow layer) is theirs, not this package's.
package layout
