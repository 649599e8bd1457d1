// Package scenarios holds the worlds netlab labs run in, embedded in the
// binary: namespaces, pods with their labels and ports, services. Policies
// are not part of a scenario; learners write those.
package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Names lists the scenarios.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Get returns the manifests of a scenario and the file name to report in
// errors.
func Get(name string) (file string, data []byte, err error) {
	file = name + ".yaml"
	data, err = files.ReadFile(file)
	if err != nil {
		return "", nil, fmt.Errorf("unknown scenario %q (scenarios: %s)", name, strings.Join(Names(), ", "))
	}
	return "scenario:" + file, data, nil
}
