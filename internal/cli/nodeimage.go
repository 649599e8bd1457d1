package cli

import (
	"fmt"

	"github.com/netlab/netlab/internal/nodeimage"
	"github.com/spf13/cobra"
)

const nodeImageLong = `Build a kind node image without a container registry: Kubernetes, etcd,
CoreDNS and pause are compiled from the Go module proxy, the node's file
system comes from Debian (debootstrap and apt), and the images kubeadm
expects (registry.k8s.io/kube-apiserver:VERSION, ...) are built in-process
and preloaded into the node's containerd, so creating a cluster pulls nothing.

Every stage is cached (default /var/cache/netlab/nodeimage for root) and
skipped when its inputs are unchanged; a cold build takes about half an hour
on two cores, a cached one seconds. Needs root, Docker and debootstrap
('netlab doctor --backend kind --fix' sets them up).

The build also leaves kube-apiserver, etcd and kubectl in CACHE/testbin-VERSION
for tests that need a real API server.`

func newNodeImageCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node-image",
		Short: "Build kind node images offline",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newNodeImageBuildCmd(s))
	return cmd
}

func newNodeImageBuildCmd(s Streams) *cobra.Command {
	var opts nodeimage.Options
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build (or find cached) a kind node image from the Go module proxy and Debian",
		Long:  nodeImageLong,
		Example: `  sudo netlab node-image build
  sudo netlab node-image build --kubernetes v1.34.4 --image netlab/node:dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Log = s.Err
			img, _, err := nodeimage.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(s.Out, img)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.KubernetesVersion, "kubernetes", nodeimage.DefaultKubernetesVersion, "Kubernetes version (a k8s.io/kubernetes version the Go module proxy serves)")
	cmd.Flags().StringVar(&opts.Image, "image", "", "name of the node image (default "+nodeimage.ImageRepository+":VERSION)")
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", "", "where stages are cached (default "+nodeimage.DefaultCacheDir()+")")
	return cmd
}
