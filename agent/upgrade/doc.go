// Package upgrade is appagent's volume code: the build-time template (`appagent prepare` moves
// every volume path into the template tree, leaves a symlink to the volume, and records a
// manifest and a build id) and the runtime side of `appagent init` (lock the volume, populate
// an empty one from the template, upgrade one written by an older build with config-file
// semantics and a backup, run the image's format migrations, refuse a newer format).
//
// Boundary: it knows the template, the manifest and the volume's .appagent/ state directory
// (lock, format, build-id, manifest.json, txn, backup/, staging/). It does not know parameters,
// stamps or hooks (agent/params, the units helper), nor how the lock fd outlives the exec of
// systemd (agent/logfwd's keeper holds it). The volume is untrusted input: every access to it
// goes through vfs.go, which never follows a symlink found on the volume.
//
// Layout: template.go (build-time move), manifest.go, buildid.go, lock.go, vfs.go (safe volume
// access), copy.go (copy engine), populate.go, decide.go (the pure decision table), plan.go,
// apply.go, backup.go, migrate.go, progress.go, sync.go (the entry point of init).
// docs/volume.md describes the volume layout and the rules for people.
package upgrade
