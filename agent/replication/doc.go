// Package replication decides this instance's role — primary or replica — from the
// declaration's role parameter or the hostname's StatefulSet ordinal, holds it against the
// role recorded on the volume (a primary's data is never joined over), and writes it for the
// units (APPAGENT_ROLE, APPAGENT_PRIMARY). Joining itself — cloning the primary and starting
// to replicate — is the image's join hook (agent/units makes its unit), not this package's;
// nor is failover (docs/replication.md).
package replication
