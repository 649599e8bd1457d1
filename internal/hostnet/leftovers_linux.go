package hostnet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
)

// Leftovers lists what netlab might have left on the host under names
// starting with prefix: named network namespaces in /run/netns, host
// links, and iptables FORWARD rules naming such an interface. Each entry is
// one human-readable line ("netns nl-x-a", "link nl-x (bridge)",
// "iptables FORWARD rule: -A FORWARD -i nl-x -o nl-x -j ACCEPT"). Leak
// tests expect it to be empty after teardown; `netlab doctor` can show it.
func Leftovers(prefix string) ([]string, error) {
	if prefix == "" {
		return nil, errors.New("hostnet: leftovers: empty prefix would match everything")
	}
	var out []string

	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("hostnet: leftovers: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, "netns "+e.Name())
		}
	}

	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("hostnet: leftovers: list links: %w", err)
	}
	for _, l := range links {
		if name := l.Attrs().Name; strings.HasPrefix(name, prefix) {
			out = append(out, fmt.Sprintf("link %s (%s)", name, l.Type()))
		}
	}

	for _, t := range tools() {
		_, rules, err := t.forwardChain()
		if err != nil {
			return nil, fmt.Errorf("hostnet: leftovers: %w", err)
		}
		for _, r := range rules {
			if mentions(r, prefix) {
				out = append(out, fmt.Sprintf("%s FORWARD rule: %s", t.label, r))
			}
		}
	}
	return out, nil
}

// mentions reports whether any word of an iptables rule (an interface
// name, typically) starts with prefix.
func mentions(rule, prefix string) bool {
	for _, f := range strings.Fields(rule) {
		if strings.HasPrefix(strings.Trim(f, `"`), prefix) {
			return true
		}
	}
	return false
}
