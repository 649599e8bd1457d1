// Command simbench measures the real netlab binary on generated worlds:
// 'netlab sim -f WORLD -o json' (and -o summary) to a file, with wall time,
// CPU time (user+system) and peak RSS (ru_maxrss of the child), against the
// engine's targets. 'make bench' runs it after the Go benchmarks.
//
//	go run ./cmd/simbench -bin bin/netlab           # 1,000 and 5,000 pods
//	go run ./cmd/simbench -bin bin/netlab -large    # also 10,000 pods
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/internal/worldgen"
)

// size is one generated world and what sim must do on it.
type size struct {
	name                       string
	namespaces, pods, policies int
	large                      bool // only with -large
	maxTime                    time.Duration
	maxRSS                     int64 // bytes
}

var sizes = []size{
	{name: "1,000 pods / 200 policies", namespaces: 20, pods: 1000, policies: 200, maxTime: 800 * time.Millisecond, maxRSS: 150 << 20},
	{name: "5,000 pods / 1,000 policies", namespaces: 100, pods: 5000, policies: 1000, maxTime: 12 * time.Second, maxRSS: 400 << 20},
	{name: "10,000 pods / 2,000 policies", namespaces: 200, pods: 10000, policies: 2000, large: true, maxTime: 60 * time.Second, maxRSS: 600 << 20},
}

// result is one run of the binary.
type result struct {
	wall, cpu time.Duration
	rss       int64
	outBytes  int64
}

func main() {
	bin := flag.String("bin", "bin/netlab", "the netlab binary to measure")
	large := flag.Bool("large", os.Getenv("NETLAB_BENCH_LARGE") != "", "also run 10,000 pods / 2,000 policies (about 200 M rows; env NETLAB_BENCH_LARGE=1)")
	runs := flag.Int("runs", 3, "runs per world (the median is reported); the 10,000-pod world runs once")
	dir := flag.String("dir", "", "where worlds and outputs go (default: a temporary directory, removed after)")
	formats := flag.String("o", "json,summary", "the sim output formats to measure, comma-separated")
	largeFile := flag.Bool("large-to-file", false, "write the 10,000-pod output (about 17 GB) to a file too, instead of /dev/null")
	gen := flag.Int("gen", 0, "only write the world of this many pods (1000, 5000 or 10000) to stdout, as the benchmark does, and exit")
	flag.Parse()
	if *gen != 0 {
		if err := writeOne(os.Stdout, *gen); err != nil {
			fmt.Fprintln(os.Stderr, "simbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *dir, strings.Split(*formats, ","), *large, *largeFile, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "simbench:", err)
		os.Exit(1)
	}
}

func run(bin, dir string, formats []string, large, largeFile bool, runs int) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("the netlab binary: %w (run 'make build' first)", err)
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "simbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("%-30s %-8s %10s %10s %10s %10s  %-22s %s\n", "world (sim -f FILE)", "-o", "wall", "CPU", "peak RSS", "output", "target", "")
	failed := false
	for _, s := range sizes {
		if s.large && !large {
			continue
		}
		world := filepath.Join(dir, fmt.Sprintf("world-%d.yaml", s.pods))
		if err := writeWorld(world, s); err != nil {
			return err
		}
		for _, format := range formats {
			out := filepath.Join(dir, "out."+format)
			n := runs
			if s.large {
				n = 1
				if format == "json" && !largeFile {
					out = os.DevNull
				}
			}
			var rs []result
			for i := 0; i < n; i++ {
				r, err := measure(bin, out, "sim", "-f", world, "-o", format)
				if err != nil {
					return fmt.Errorf("%s, -o %s: %w", s.name, format, err)
				}
				rs = append(rs, r)
			}
			if out != os.DevNull { // never remove the device itself
				os.Remove(out)
			}
			r := median(rs)
			verdict := "ok"
			if r.wall > s.maxTime || r.rss > s.maxRSS {
				verdict, failed = "MISSED", true
			}
			where := human(r.outBytes)
			if out == os.DevNull {
				where = "/dev/null"
			}
			fmt.Printf("%-30s %-8s %9.2fs %9.2fs %7d MB %10s  <%-6s <%4d MB       %s\n", s.name, format,
				r.wall.Seconds(), r.cpu.Seconds(), r.rss>>20, where, s.maxTime, s.maxRSS>>20, verdict)
		}
		os.Remove(world)
	}
	// Wall time is only comparable on an idle machine; say how busy it was.
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("(CPU is user+system time of the child; load average at the end: %s)\n", strings.Join(strings.Fields(string(b))[:3], " "))
	}
	if failed {
		return errors.New("a target was missed")
	}
	return nil
}

func writeOne(out io.Writer, pods int) error {
	for _, s := range sizes {
		if s.pods == pods {
			return worldgen.WriteManifest(out, generate(s))
		}
	}
	return fmt.Errorf("-gen %d: no such world (1000, 5000, 10000)", pods)
}

func generate(s size) *world.World {
	return worldgen.Generate(1, worldgen.Options{Namespaces: s.namespaces, Pods: s.pods, Policies: s.policies})
}

func writeWorld(path string, s size) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := worldgen.WriteManifest(f, generate(s)); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// measure runs bin with stdout to out and returns its wall time, CPU time
// and peak RSS as the kernel accounted them for the child.
func measure(bin, out string, args ...string) (result, error) {
	cmd := exec.Command(bin, args...) // Stdout nil: os/exec opens the null device
	var f *os.File
	if out != os.DevNull {
		var err error
		if f, err = os.Create(out); err != nil {
			return result{}, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	cmd.Stderr = io.Discard
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	wall := time.Since(start)
	cpu, rss, err := childUsage(cmd.ProcessState)
	if err != nil {
		return result{}, err
	}
	r := result{wall: wall, cpu: cpu, rss: rss}
	if f != nil {
		if st, err := f.Stat(); err == nil {
			r.outBytes = st.Size()
		}
	}
	return r, nil
}

func median(rs []result) result {
	sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
	return rs[len(rs)/2]
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}
