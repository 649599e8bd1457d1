package matrix

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// TableOptions controls WriteTable.
type TableOptions struct {
	// Color adds ANSI colors (green allowed, red denied). Leave it off when
	// the output is not a terminal or NO_COLOR is set.
	Color bool
}

const (
	ansiGreen = "\x1b[32m"
	ansiRed   = "\x1b[31m"
	ansiDim   = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

// WriteTable renders the matrix as one grid: a row per source pod, a column
// per destination pod and port (a two-line header: pod, then port). Cells
// are ✓ (allowed), ✗ (blocked), ? (not measurable, e.g. a protocol the
// dataplane lacks, or not decidable: a pod without an address meets an
// ipBlock) or · (no such cell: the pod itself).
func (m *Matrix) WriteTable(w io.Writer, opts TableOptions) error {
	if len(m.Results) == 0 {
		_, err := fmt.Fprintln(w, "no cells: no pod declares a container port")
		return err
	}
	type column struct {
		to    string
		port  int32
		proto string
	}
	var cols []column
	seenCol := map[column]bool{}
	fromSet, cells := map[string]bool{}, make(map[Key]Cell, len(m.Results))
	for _, c := range m.Results {
		col := column{c.To, c.Port, c.Protocol}
		if !seenCol[col] {
			seenCol[col] = true
			cols = append(cols, col)
		}
		fromSet[c.From] = true
		cells[c.Key()] = c
	}
	sort.Slice(cols, func(i, j int) bool {
		return less(Key{To: cols[i].to, Port: cols[i].port, Protocol: cols[i].proto}, Key{To: cols[j].to, Port: cols[j].port, Protocol: cols[j].proto})
	})
	froms := sortedKeys(fromSet)
	all := append([]string(nil), froms...)
	for _, c := range cols {
		all = append(all, c.to)
	}
	short := commonNamespace(all)
	name := func(s string) string {
		if short != "" {
			return strings.TrimPrefix(s, short+"/")
		}
		return s
	}
	if short != "" {
		fmt.Fprintf(w, "namespace %s\n", short)
	}
	first := len("from \\ to")
	for _, f := range froms {
		first = max(first, utf8.RuneCountInString(name(f)))
	}
	// Column widths: a port label, widened so the pod name above its
	// first port fits across its ports.
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(fmt.Sprintf("%d/%s", c.port, c.proto))
	}
	for i := 0; i < len(cols); {
		j := i
		span := 0
		for ; j < len(cols) && cols[j].to == cols[i].to; j++ {
			span += widths[j]
			if j > i {
				span += 2
			}
		}
		if need := utf8.RuneCountInString(name(cols[i].to)); need > span {
			widths[j-1] += need - span
		}
		i = j
	}
	var podHdr, portHdr strings.Builder
	podHdr.WriteString(pad("from \\ to", first))
	portHdr.WriteString(strings.Repeat(" ", first))
	for i, c := range cols {
		label := ""
		if i == 0 || cols[i-1].to != c.to {
			label = name(c.to)
		}
		podHdr.WriteString("  ")
		portHdr.WriteString("  ")
		if label != "" {
			// The pod name spans all its port columns.
			span := 0
			for j := i; j < len(cols) && cols[j].to == c.to; j++ {
				if j > i {
					span += 2
				}
				span += widths[j]
			}
			podHdr.WriteString(pad(label, span))
		}
		portHdr.WriteString(pad(fmt.Sprintf("%d/%s", c.port, c.proto), widths[i]))
	}
	fmt.Fprintln(w, strings.TrimRight(podHdr.String(), " "))
	fmt.Fprintln(w, strings.TrimRight(portHdr.String(), " "))
	var denied, allowed, other, undecided, refused int
	for _, f := range froms {
		var row strings.Builder
		row.WriteString(pad(name(f), first))
		for i, col := range cols {
			sym, color := "·", ansiDim
			if c, ok := cells[Key{f, col.to, col.port, col.proto}]; ok {
				switch {
				case c.Undecided():
					sym, color = "?", ansiDim
					undecided++
				case c.Allowed:
					sym, color = "✓", ansiGreen
					allowed++
				case c.Detail == DetailUnsupported:
					sym, color = "?", ansiDim
					other++
				case c.Detail == DetailRefused:
					// Not a policy's drop (that times out): nothing
					// listens there.
					sym, color = "R", ansiDim
					refused++
				default:
					sym, color = "✗", ansiRed
					denied++
				}
			}
			cell := pad(sym, widths[i])
			if opts.Color {
				cell = color + sym + ansiReset + strings.Repeat(" ", widths[i]-1)
			}
			row.WriteString("  " + cell)
		}
		fmt.Fprintln(w, strings.TrimRight(row.String(), " "))
	}
	fmt.Fprintf(w, "\n%d allowed, %d blocked", allowed, denied)
	if other > 0 {
		fmt.Fprintf(w, ", %d not measurable", other)
	}
	if undecided > 0 {
		fmt.Fprintf(w, ", %d not decidable", undecided)
	}
	if refused > 0 {
		fmt.Fprintf(w, ", %d refused", refused)
	}
	legend := "   (✓ allowed  ✗ blocked  ? not measurable  · same pod)"
	if refused > 0 {
		legend = "   (✓ allowed  ✗ blocked  ? not measurable  R refused: nothing listens  · same pod)"
	}
	_, err := fmt.Fprintln(w, legend)
	if err == nil && undecided > 0 {
		_, err = fmt.Fprintln(w, "? not decidable: a pod without an address (no status.podIP) meets a rule only an ipBlock could decide; -o json gives each reason")
	}
	return err
}

func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// commonNamespace returns the namespace shared by every "ns/pod" name, or "".
func commonNamespace(names []string) string {
	ns := ""
	for i, n := range names {
		p, _, ok := strings.Cut(n, "/")
		if !ok {
			return ""
		}
		if i == 0 {
			ns = p
		} else if p != ns {
			return ""
		}
	}
	return ns
}

// WriteMermaid renders the allowed flows as a mermaid flowchart: one
// subgraph per namespace, one arrow per (source, destination) labelled with
// the allowed ports (an undecided port is marked "80/TCP?"). Pods with no
// allowed flow still appear, so isolation is visible.
func (m *Matrix) WriteMermaid(w io.Writer) error {
	pods := map[string]bool{}
	type edge struct{ from, to string }
	ports := map[edge][]string{}
	var edges []edge
	for _, c := range m.Results {
		pods[c.From], pods[c.To] = true, true
		if !c.Allowed && !c.Undecided() {
			continue
		}
		e := edge{c.From, c.To}
		if _, ok := ports[e]; !ok {
			edges = append(edges, e)
		}
		label := fmt.Sprintf("%d/%s", c.Port, c.Protocol)
		if c.Undecided() {
			label += "?" // not decidable: no address to match an ipBlock
		}
		ports[e] = append(ports[e], label)
	}
	names := sortedKeys(pods)
	id := map[string]string{}
	byNS := map[string][]string{}
	var nss []string
	for i, n := range names {
		id[n] = fmt.Sprintf("p%d", i)
		ns, _, _ := strings.Cut(n, "/")
		if _, ok := byNS[ns]; !ok {
			nss = append(nss, ns)
		}
		byNS[ns] = append(byNS[ns], n)
	}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, ns := range nss {
		fmt.Fprintf(&b, "  subgraph ns%d[\"namespace %s\"]\n", i, ns)
		for _, n := range byNS[ns] {
			_, pod, _ := strings.Cut(n, "/")
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", id[n], pod)
		}
		b.WriteString("  end\n")
	}
	for _, e := range edges {
		fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", id[e.from], strings.Join(ports[e], ", "), id[e.to])
	}
	_, err := io.WriteString(w, b.String())
	return err
}
