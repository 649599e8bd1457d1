package nodeimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	suite  = "bookworm"
	mirror = "http://deb.debian.org/debian"
	// rootfsImage is the debootstrapped tree imported into Docker.
	rootfsImage = "netlab/node-rootfs:" + suite
	// baseImage is rootfsImage plus the node's Debian packages.
	baseImage = "netlab/node-base:" + suite
)

// nodePackages are what a kind node runs besides Kubernetes' own binaries.
var nodePackages = []string{
	"systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins",
	"iptables", "nftables", "iproute2", "ethtool", "socat", "conntrack", "ebtables", "ipset",
	"kmod", "ca-certificates", "procps", "util-linux", "mount", "libseccomp2", "bash",
}

// proxyPackages are what kube-proxy execs in its own image.
var proxyPackages = []string{"iptables", "nftables", "conntrack", "ipset", "kmod"}

func (b *builder) rootfsTar() string { return filepath.Join(b.dir, "rootfs", suite+"-minbase.tar") }

// buildRootfs runs debootstrap (minbase: dpkg, apt and essentials) and
// tars the tree.
func (b *builder) buildRootfs(ctx context.Context) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("debootstrap not found (apt-get install -y debootstrap, or netlab doctor --backend kind --fix): %w", err)
	}
	tree := b.rootfsTar() + ".d"
	_ = os.RemoveAll(tree)
	defer os.RemoveAll(tree)
	if out, err := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", suite, tree, mirror).CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap: %v\n%s", err, lastLines(string(out), 20))
	}
	tmp := b.rootfsTar() + ".tmp"
	if out, err := exec.CommandContext(ctx, "tar", "-C", tree, "-cf", tmp, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("tar rootfs: %v: %s", err, out)
	}
	return os.Rename(tmp, b.rootfsTar())
}

// ensureRootfsImage imports the rootfs tar into Docker under rootfsImage
// unless an image from the same tar is there.
func (b *builder) ensureRootfsImage(ctx context.Context, rootfsKey string) error {
	if imageKey(ctx, rootfsImage) == rootfsKey {
		return nil
	}
	f, err := os.Open(b.rootfsTar())
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = docker(ctx, f, "import", "--change", "LABEL "+keyLabel+"="+rootfsKey, "-", rootfsImage)
	return err
}

// baseSetup runs after the packages are installed.
const baseSetup = `# systemd in a container: no udev, no gettys.
systemctl mask systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket \
	getty@tty1.service console-getty.service serial-getty@.service systemd-modules-load.service >/dev/null 2>&1
systemctl set-default multi-user.target >/dev/null 2>&1
# CNI plugins: Debian installs them in /usr/lib/cni, CNI configs expect /opt/cni/bin.
mkdir -p /opt/cni/bin
for p in /usr/lib/cni/*; do ln -sf "$p" /opt/cni/bin/; done
`

func aptInstall(pkgs []string) string {
	return "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; " +
		"apt-get install -y -qq --no-install-recommends " + strings.Join(pkgs, " ") + " >/dev/null; " +
		"apt-get clean; rm -rf /var/lib/apt/lists/*"
}

// buildBase installs the node packages into the rootfs and commits
// baseImage. Files of netlab's own come later (node stage), after the
// packages, or containerd's package would stop at a config prompt.
func (b *builder) buildBase(ctx context.Context, rootfsKey, k string) error {
	if err := b.ensureRootfsImage(ctx, rootfsKey); err != nil {
		return err
	}
	c, err := startContainer(ctx, b.containerName("base"), rootfsImage, "sleep", "infinity")
	if err != nil {
		return err
	}
	defer c.remove()
	script := aptInstall(nodePackages) + "\n" + baseSetup
	if _, err := c.sh(ctx, script); err != nil {
		return err
	}
	return c.commit(ctx, baseImage, "LABEL "+keyLabel+"="+k)
}

func (b *builder) proxyBaseTar() string {
	return filepath.Join(b.dir, "proxybase", suite+"-iptables.tar")
}

// buildProxyBase exports the rootfs plus iptables/nftables as one tar: the
// bottom layer of the kube-proxy image, which execs those tools.
func (b *builder) buildProxyBase(ctx context.Context, rootfsKey string) error {
	if err := b.ensureRootfsImage(ctx, rootfsKey); err != nil {
		return err
	}
	c, err := startContainer(ctx, b.containerName("proxybase"), rootfsImage, "sleep", "infinity")
	if err != nil {
		return err
	}
	defer c.remove()
	if _, err := c.sh(ctx, aptInstall(proxyPackages)+"; rm -rf /usr/share/doc /usr/share/man /usr/share/locale /var/cache/debconf/*-old"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(b.proxyBaseTar()), 0o755); err != nil {
		return err
	}
	tmp := b.proxyBaseTar() + ".tmp"
	if _, err := docker(ctx, nil, "export", "-o", tmp, c.name); err != nil {
		return err
	}
	return os.Rename(tmp, b.proxyBaseTar())
}
