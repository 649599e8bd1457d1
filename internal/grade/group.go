package grade

import (
	"fmt"
	"sort"
	"strings"
)

// Group is wrong cells that one change fixes: the same side, the same
// hint (db-isolation's thirteen flows into shop/db are one missing
// isolation, said once). A cell alone is a group of one.
type Group struct {
	Cells []Cell
	// Side, Why and Hint are the change; for a group of one, Why and Hint
	// are the cell's own.
	Side, Why, Hint string
	// Flows are the cells in short: "a, b -> shop/db:5432/TCP,9187/TCP".
	Flows []string
}

// Groups groups cells (of one status) by the change that fixes them, in the
// order of each group's first cell.
func Groups(cells []Cell) []Group {
	var out []Group
	at := map[string]int{}
	for _, c := range cells {
		if c.Side == "" {
			out = append(out, Group{Cells: []Cell{c}, Why: c.Why, Hint: c.Hint})
			continue
		}
		id := c.Side + "\x00" + c.sideHint
		i, ok := at[id]
		if !ok {
			i = len(out)
			at[id] = i
			out = append(out, Group{Side: c.Side, Why: c.sideWhy, Hint: c.sideHint})
		}
		out[i].Cells = append(out[i].Cells, c)
	}
	for i := range out {
		g := &out[i]
		if len(g.Cells) == 1 {
			g.Why, g.Hint = g.Cells[0].Why, g.Cells[0].Hint
		}
		g.Flows = flows(g.Cells, strings.HasPrefix(g.Side, "egress "))
	}
	return out
}

// flows writes cells in short. Into one pod (an ingress side): the sources
// with the same ports on one line. Out of one pod (egress): one line, each
// destination with its ports.
func flows(cells []Cell, egress bool) []string {
	type pair struct{ from, to string }
	ports := map[pair][]string{}
	var order []pair
	for _, c := range cells {
		p := pair{c.From, c.To}
		if _, ok := ports[p]; !ok {
			order = append(order, p)
		}
		ports[p] = append(ports[p], fmt.Sprintf("%d/%s", c.Port, c.Protocol))
	}
	if egress {
		bySrc := map[string][]string{}
		var srcs []string
		for _, p := range order {
			if _, ok := bySrc[p.from]; !ok {
				srcs = append(srcs, p.from)
			}
			bySrc[p.from] = append(bySrc[p.from], p.to+":"+strings.Join(ports[p], ","))
		}
		var out []string
		for _, s := range srcs {
			out = append(out, s+" -> "+strings.Join(bySrc[s], ", "))
		}
		return out
	}
	type dst struct{ to, ports string }
	froms := map[dst][]string{}
	var dsts []dst
	for _, p := range order {
		d := dst{p.to, strings.Join(ports[p], ",")}
		if _, ok := froms[d]; !ok {
			dsts = append(dsts, d)
		}
		froms[d] = append(froms[d], p.from)
	}
	sort.SliceStable(dsts, func(i, j int) bool { return len(froms[dsts[i]]) > len(froms[dsts[j]]) })
	var out []string
	for _, d := range dsts {
		out = append(out, strings.Join(froms[d], ", ")+" -> "+d.to+":"+d.ports)
	}
	return out
}
