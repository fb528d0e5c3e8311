// Package diff records the image's filesystem at prepare and compares the live one with it:
// what was added, changed or deleted outside the volume is state that is lost when the
// container is re-created (`appagent diff`).
//
// It compares metadata only (type, mode, owner, size, modification time, link target): no
// file is read, so a full application image is compared in well under a second. It walks the
// container's own filesystem and never follows symlinks, so the volume (reached through the
// symlinks prepare left) is not walked. Which paths are temporary by nature is decided here
// (Ignore); what the volume holds is the volume helper's business (agent/upgrade).
package diff
