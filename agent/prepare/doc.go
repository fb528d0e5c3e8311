// Package prepare turns a built root filesystem into an appagent image (`appagent prepare`).
//
// It sequences the build-time steps, each owned by another package: validate the declaration
// (config), install and enable appagent's units (units), move the volume paths into the template
// (upgrade), install the generator and mask units (agent/units). It works on a root directory so
// it can be tested outside an image; in a Containerfile the root is /.
package prepare
