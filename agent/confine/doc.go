// Package confine runs one of the image's programs (a format migration) with its writes held,
// by Landlock, beneath the volume and the container's scratch directories, so that a link
// planted on the volume cannot lead it to write into the image or anywhere else.
//
// Landlock needs no privilege and no mount namespace (which podman and Docker do not give
// without CAP_SYS_ADMIN); where the kernel lacks it, or a seccomp profile refuses its system
// calls, the program runs unconfined and the caller says so. Landlock governs creating,
// writing, truncating, renaming, linking and removing; it does not govern chmod, chown or
// extended attributes, which no unprivileged kernel mechanism confines.
//
// It does not decide what runs or when (agent/upgrade does) and keeps no state.
package confine
