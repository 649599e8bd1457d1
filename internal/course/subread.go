package course

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Limits bound what grading reads of one submission: a submission is
// hostile input (a teacher runs grade as root on students' directories),
// so no file, nor the whole, may be large enough to exhaust the grader.
// A task whose answer exceeds a limit scores 0 with an error saying which.
type Limits struct {
	// MaxFileSize is the largest file read, in bytes.
	MaxFileSize int64
	// MaxSubmissionSize bounds the bytes of all files read, each counted
	// once however many tasks use it.
	MaxSubmissionSize int64
	// MaxFiles bounds the files read and the entries of any directory
	// listed.
	MaxFiles int
}

// DefaultLimits are generous for NetworkPolicies (a lab's whole reference
// solution is a few KiB) and small enough for thirty submissions in a row.
var DefaultLimits = Limits{MaxFileSize: 1 << 20, MaxSubmissionSize: 8 << 20, MaxFiles: 1000}

// submissionFS reads a submission through an os.Root, so that nothing
// outside the submission directory is ever opened: a symlink leading out
// of it (a task directory, a manifest, remove.txt) is refused, as is any
// file that is not regular (a FIFO would block, a device could be
// anything). Paths are slash-separated and relative to the root; errors
// name the path as the teacher wrote it (dir joined with the path).
type submissionFS struct {
	root  *os.Root
	dir   string
	lim   Limits
	files int   // distinct files read
	total int64 // their bytes
	cache map[string][]byte
}

func openSubmission(dir string, lim Limits) (*submissionFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("submission: %w", err)
	}
	return &submissionFS{root: root, dir: dir, lim: lim, cache: map[string][]byte{}}, nil
}

func (s *submissionFS) Close() error { return s.root.Close() }

// display is how errors name rel: the teacher's path to it.
func (s *submissionFS) display(rel string) string {
	return filepath.Join(s.dir, filepath.FromSlash(rel))
}

// escapes reports whether err is os.Root refusing a path that leaves it.
// The os package does not export that error; its text is stable.
func escapes(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Err.Error() == "path escapes from parent"
}

// pathError is err about rel, worded for a teacher reading a CI log.
func (s *submissionFS) pathError(rel string, err error) error {
	switch {
	case escapes(err):
		return fmt.Errorf("%s: a symbolic link leading outside the submission: refused", s.display(rel))
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: a symbolic link to nothing", s.display(rel))
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", s.display(rel), err)
}

// exists reports whether rel names anything (a dangling or escaping
// symlink included: it exists, and reading it is an error).
func (s *submissionFS) exists(rel string) bool {
	_, err := s.root.Lstat(rel)
	return err == nil
}

// isDir reports whether rel is a directory inside the submission. An
// escaping symlink is an error, not a "no".
func (s *submissionFS) isDir(rel string) (bool, error) {
	if !s.exists(rel) {
		return false, nil
	}
	fi, err := s.root.Stat(rel)
	if err != nil {
		return false, s.pathError(rel, err)
	}
	return fi.IsDir(), nil
}

// list returns the entries of directory rel, sorted by name, refusing a
// directory with more than MaxFiles entries without reading them all.
func (s *submissionFS) list(rel string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(rel)
	if err != nil {
		return nil, s.pathError(rel, err)
	}
	defer f.Close()
	entries, err := f.ReadDir(s.lim.MaxFiles + 1)
	if err != nil && err != io.EOF {
		return nil, s.pathError(rel, err)
	}
	if len(entries) > s.lim.MaxFiles {
		return nil, fmt.Errorf("%s: more than %d entries (the limit is --max-files %d)", s.display(rel), s.lim.MaxFiles, s.lim.MaxFiles)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// read returns the content of regular file rel within the limits. The
// file is checked before it is opened (so a FIFO or device is never
// opened), opened non-blocking, and checked again on the open descriptor
// (so a file swapped after the first check is caught).
func (s *submissionFS) read(rel string) ([]byte, error) {
	if data, ok := s.cache[rel]; ok {
		return data, nil
	}
	fi, err := s.root.Stat(rel)
	if err != nil {
		return nil, s.pathError(rel, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s): refused", s.display(rel), fileKind(fi.Mode()))
	}
	if err := s.fits(rel, fi.Size()); err != nil {
		return nil, err
	}
	f, err := s.root.OpenFile(rel, openFlags, 0)
	if err != nil {
		return nil, s.pathError(rel, err)
	}
	defer f.Close()
	fi2, err := f.Stat()
	if err != nil {
		return nil, s.pathError(rel, err)
	}
	if !fi2.Mode().IsRegular() || !os.SameFile(fi, fi2) {
		return nil, fmt.Errorf("%s: changed while being read: refused", s.display(rel))
	}
	data, err := io.ReadAll(io.LimitReader(f, s.lim.MaxFileSize+1))
	if err != nil {
		return nil, s.pathError(rel, err)
	}
	// The file may have grown since it was checked.
	if err := s.fits(rel, int64(len(data))); err != nil {
		return nil, err
	}
	s.files++
	s.total += int64(len(data))
	s.cache[rel] = data
	return data, nil
}

// fits checks that reading size more bytes of rel keeps within the limits.
func (s *submissionFS) fits(rel string, size int64) error {
	switch {
	case size > s.lim.MaxFileSize:
		return fmt.Errorf("%s: %s, more than the limit of %s a file (--max-file-size)", s.display(rel), FormatSize(size), FormatSize(s.lim.MaxFileSize))
	case s.files+1 > s.lim.MaxFiles:
		return fmt.Errorf("%s: more than %d files in the submission (--max-files)", s.display(rel), s.lim.MaxFiles)
	case s.total+size > s.lim.MaxSubmissionSize:
		return fmt.Errorf("%s: %s more after %s read makes more than the limit of %s a submission (--max-submission-size)",
			s.display(rel), FormatSize(size), FormatSize(s.total), FormatSize(s.lim.MaxSubmissionSize))
	}
	return nil
}

// fileKind names a non-regular file type for an error message.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// FormatSize writes n bytes as a Kubernetes quantity when it is a whole
// number of Ki, Mi, ... (1Mi, 512Ki), else as "N bytes".
func FormatSize(n int64) string {
	q := resource.NewQuantity(n, resource.BinarySI).String()
	if q == strconv.FormatInt(n, 10) {
		return q + " bytes"
	}
	return q
}

// join is path.Join for the submission's slash-separated paths.
func join(dir, name string) string { return path.Join(dir, name) }
