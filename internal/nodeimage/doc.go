// Package nodeimage builds a kind node image on a machine that has no
// container registry: everything comes from the Go module proxy and Debian's
// package mirror.
//
// The build runs in stages, each cached under Options.CacheDir and skipped
// when its output exists and its inputs (versions, recipe) are unchanged:
//
//	rootfs       debootstrap --variant=minbase bookworm, as a tar
//	base         the rootfs imported into Docker plus systemd, containerd,
//	             runc, CNI plugins, iptables, ... and netlab's node files
//	             (entrypoint, containerd CRI config, kubelet unit)
//	proxybase    the rootfs plus iptables/nftables, exported as the base
//	             layer of the kube-proxy image
//	kubernetes   kubeadm, kubelet, kubectl, kube-apiserver,
//	             kube-controller-manager, kube-scheduler, kube-proxy, built
//	             from k8s.io/kubernetes with a generated build module
//	etcd, coredns, pause   the other binaries kubeadm's images need
//	images       the images `kubeadm config images list` names, built
//	             in-process with go-containerregistry
//	node         the base plus the binaries and the images preloaded into
//	             containerd, committed as the node image
//	testbin      kube-apiserver, etcd and kubectl for tests (TestBinaries)
//
// Ensure is what `netlab up --backend kind` calls: kind's default node image
// when Docker has or can pull it, this package's image otherwise.
package nodeimage
