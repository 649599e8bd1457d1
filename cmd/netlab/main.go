// Command netlab runs Kubernetes NetworkPolicy labs: it simulates, explains,
// enforces and probes policies on a sandbox or a kind cluster.
package main

import (
	"os"

	"github.com/netlab/netlab/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
