package nodeimage

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// tarEntry is a file to put into a tar stream; a path ending in "/" is a
// directory.
type tarEntry struct {
	path string
	mode int64
	data []byte
}

// fileEntry reads a host file into an entry at dst.
func fileEntry(src, dst string, mode int64) (tarEntry, error) {
	data, err := os.ReadFile(src)
	return tarEntry{path: dst, mode: mode, data: data}, err
}

// tarOf writes entries (and their parent directories) into one tar stream,
// owned by root, with a fixed time so that equal inputs give equal bytes.
func tarOf(entries []tarEntry) ([]byte, error) {
	dirs := map[string]bool{}
	var all []tarEntry
	for _, e := range entries {
		p := strings.Trim(e.path, "/")
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if !dirs[d] {
				dirs[d] = true
				all = append(all, tarEntry{path: d + "/", mode: 0o755})
			}
		}
		all = append(all, e)
	}
	sort.SliceStable(all, func(i, j int) bool { return strings.Trim(all[i].path, "/") < strings.Trim(all[j].path, "/") })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	for _, e := range all {
		name := strings.TrimPrefix(e.path, "/")
		h := &tar.Header{Name: name, Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX}
		if strings.HasSuffix(name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// embeddedEntries turns the files/ tree into tar entries, applying
// replacements to their content. Files under bin directories are executable.
func embeddedEntries(fsys fs.FS, replace *strings.Replacer) ([]tarEntry, error) {
	var out []tarEntry
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if strings.Contains(p, "/bin/") {
			mode = 0o755
		}
		out = append(out, tarEntry{path: "/" + p, mode: mode, data: []byte(replace.Replace(string(data)))})
		return nil
	})
	return out, err
}
