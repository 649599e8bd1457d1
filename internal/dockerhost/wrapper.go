package dockerhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// runcValueFlags are runc's global flags that take a separate value; the
// wrapper must skip their values to find the subcommand.
var runcValueFlags = map[string]bool{
	"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true,
}

// RuncWrapper is the body of the runtime that Setup registers with dockerd:
// it removes capabilities outside the bounding set from the OCI spec that
// runc is about to use (the bundle's config.json for create and run, the
// --process file for exec), then replaces itself with the real runc, so that
// the shim talks to runc exactly as if the wrapper were not there. A spec
// it cannot rewrite is passed on unchanged, with a warning on stderr.
func RuncWrapper(realRunc string, args []string) error {
	bnd, err := BoundingSet()
	if err != nil {
		return err
	}
	if missing := bnd.Missing(); len(missing) > 0 {
		if err := filterInvocation(args, missing); err != nil {
			// runc itself reports a missing or broken spec better.
			fmt.Fprintf(os.Stderr, "netlab runc wrapper: %v\n", err)
		}
	}
	argv := append([]string{realRunc}, args...)
	return syscall.Exec(realRunc, argv, os.Environ())
}

// filterInvocation finds the spec file that a runc command line uses and
// removes the missing capabilities from it.
func filterInvocation(args []string, missing []string) error {
	sub, rest := runcSubcommand(args)
	switch sub {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return filterSpecFile(filepath.Join(bundle, "config.json"), missing, true)
	case "exec":
		if p := flagValue(rest, "--process", "-p"); p != "" {
			return filterSpecFile(p, missing, false)
		}
	}
	return nil
}

// runcSubcommand returns runc's subcommand and the arguments after it.
func runcSubcommand(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return "", nil
		}
		if strings.HasPrefix(a, "-") {
			if runcValueFlags[a] {
				i++
			}
			continue
		}
		return a, args[i+1:]
	}
	return "", nil
}

// flagValue returns the value of a flag given as "--name v", "--name=v",
// "-n v" or "-n=v"; "" when absent.
func flagValue(args []string, long, short string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, name := range []string{long, short} {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v
			}
		}
	}
	return ""
}

// filterSpecFile rewrites an OCI config.json (process under "process") or a
// runc exec process file (the process object itself) without the missing
// capabilities. The file is left untouched when it names none of them.
// Numbers are kept as written (json.Number) so that 64-bit limits survive.
func filterSpecFile(path string, missing []string, nested bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	proc := doc
	if nested {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		proc = p
	}
	caps, ok := proc["capabilities"].(map[string]any)
	if !ok || !dropCaps(caps, missing) {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".netlab-tmp"
	if err := os.WriteFile(tmp, out, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// dropCaps removes the missing names from every capability list (bounding,
// effective, inheritable, permitted, ambient) and reports whether it changed
// anything.
func dropCaps(caps map[string]any, missing []string) bool {
	drop := make(map[string]bool, len(missing))
	for _, m := range missing {
		drop[m] = true
	}
	changed := false
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(list))
		for _, c := range list {
			if s, ok := c.(string); ok && drop[s] {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	return changed
}
