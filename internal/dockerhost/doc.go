// Package dockerhost prepares a Linux host to run kind nodes with Docker:
// it installs Docker from the distribution when it is missing, starts the
// daemon, and registers a runc wrapper as Docker's default runtime when the
// host's capability bounding set lacks capabilities that Docker grants to
// privileged containers.
//
// Why the wrapper: Docker 20.10 asks runc for every capability it knows on a
// --privileged container. On a VM whose bounding set lacks one (this project's
// CI VM has no CAP_SYS_RESOURCE) runc fails with "unable to apply caps:
// operation not permitted", so no kind node can start. The wrapper removes the
// missing capabilities from the OCI spec and then runs the real runc.
package dockerhost
