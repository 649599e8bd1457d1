package nodeimage

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestTestBinaries(t *testing.T) {
	bins, err := TestBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skip(err)
	}
	for bin, want := range map[string]string{
		bins.KubeAPIServer: "Kubernetes " + DefaultKubernetesVersion,
		bins.Kubectl:       "Client Version: " + DefaultKubernetesVersion,
		bins.Etcd:          "etcd Version: 3.",
	} {
		args := []string{"--version"}
		if bin == bins.Kubectl {
			args = []string{"version", "--client"}
		}
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("%s %v: %v: %s (want %q)", bin, args, err, out, want)
		}
	}
}

func TestTestBinariesHonoursOverride(t *testing.T) {
	t.Setenv("NETLAB_TESTBIN", t.TempDir())
	if _, err := TestBinaries(); err == nil || !strings.Contains(err.Error(), "netlab node-image build") {
		t.Errorf("empty NETLAB_TESTBIN: err = %v, want a hint to build", err)
	}
}
