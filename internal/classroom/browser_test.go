package classroom

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/netlab/netlab/internal/testenv"
)

// chromium finds the browser: $NETLAB_CHROMIUM, else Debian's chromium.
func chromium() string {
	if p := os.Getenv("NETLAB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// sampleClass is the sample class as TestSampleClass graded it for real
// (the golden JSON, checked by hand).
func sampleClass(t *testing.T) *Class {
	t.Helper()
	data, err := os.ReadFile("testdata/class.json")
	if err != nil {
		t.Fatal(err)
	}
	var c Class
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestHTMLReport: the sample class's report matches its golden file
// (what the browser test renders, and the committed screenshot shows) and
// fetches nothing, so it opens offline.
func TestHTMLReport(t *testing.T) {
	var b strings.Builder
	if err := WriteHTML(&b, sampleClass(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "class.html", []byte(b.String()))
	if m := regexp.MustCompile(`(?i)<script|<link|<img|<iframe|\bsrc=|url\(|@import|https?://`).FindString(b.String()); m != "" {
		t.Errorf("the report refers to something outside itself: %q", m)
	}
}

// TestHTMLReportInBrowser opens the sample class's report in headless
// Chromium through the DevTools protocol: the heatmap has a row per student
// and colours by points, the mistakes list counts students, nothing is
// fetched, and clicking a student shows their wrong cells. With -update it
// also writes assets/screenshots/class-report.png. Under CI=true a missing
// Chromium fails the test (make test-deps installs it).
func TestHTMLReportInBrowser(t *testing.T) {
	bin := chromium()
	testenv.Require(t, bin != "", "needs Chromium (Debian: apt-get install chromium, or make test-deps)")
	page := filepath.Join(t.TempDir(), "class.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, sampleClass(t)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 800),
	)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()

	// Navigate returns once the page has loaded; everything after goes
	// through Runtime.evaluate and real mouse events.
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatalf("opening the report: %v", err)
	}
	eval := func(js string, v any) {
		t.Helper()
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v (%s)", js, err, raw)
		}
	}

	// The heatmap: a row per student, a cell per task, coloured red to
	// green by the share of points.
	var rows []struct {
		Student string   `json:"student"`
		Points  []string `json:"points"`
		Colors  []string `json:"colors"`
	}
	eval(`[...document.querySelectorAll('#heatmap tbody tr')].map(tr => ({
		student: tr.dataset.student,
		points: [...tr.querySelectorAll('td.cell')].map(td => td.dataset.points),
		colors: [...tr.querySelectorAll('td.cell')].map(td => getComputedStyle(td).backgroundColor)}))`, &rows)
	want := map[string]string{"alice": "10 10", "bob": "10 3.3", "carol": "5 0", "dave": "0 0", "eve": "5 0", "frank": "0 0"}
	if len(rows) != len(want) {
		t.Fatalf("heatmap rows: %+v", rows)
	}
	colors := map[string]string{}
	for _, r := range rows {
		if got := strings.Join(r.Points, " "); got != want[r.Student] {
			t.Errorf("heatmap %s: %q, want %q", r.Student, got, want[r.Student])
		}
		for i, p := range r.Points {
			colors[p] = r.Colors[i]
		}
	}
	if !greenest(colors["10"]) || !reddest(colors["0"]) || colors["5"] == colors["10"] || colors["5"] == colors["0"] {
		t.Errorf("heatmap colours: %v (want 10 green, 0 red, 5 between)", colors)
	}

	// The class's most common mistake in deny-all: DNS left open, by bob,
	// carol and frank (dave's and eve's answers could not be used).
	var top []string
	eval(`[...document.querySelectorAll('#task-deny-all table.mistakes tbody tr:first-child td')].map(td => td.innerText)`, &top)
	if len(top) != 4 || !strings.Contains(top[0], "kube-system/coredns:53") || !strings.HasPrefix(top[1], "over-permissive") ||
		top[2] != "3/6" || !strings.Contains(top[3], "egress of") {
		t.Errorf("deny-all's top mistake: %q", top)
	}

	// Nothing fetched: no resource besides the page itself.
	var resources int
	eval(`performance.getEntriesByType('resource').length`, &resources)
	if resources != 0 {
		t.Errorf("the report fetched %d resources", resources)
	}

	// Drill-down: bob's cells are hidden until bob is clicked.
	var shown bool
	eval(`getComputedStyle(document.getElementById('s-bob')).display !== 'none'`, &shown)
	if shown {
		t.Errorf("bob's section is shown before anyone clicked")
	}
	var at struct{ X, Y float64 }
	eval(`(() => { const a = document.querySelector('#heatmap a[href="#s-bob"]'); a.scrollIntoView();
		const r = a.getBoundingClientRect(); return {X: r.x + r.width/2, Y: r.y + r.height/2}; })()`, &at)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(at.X, at.Y)); err != nil {
		t.Fatalf("clicking bob: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`location.hash === '#s-bob' && getComputedStyle(document.getElementById('s-bob')).display !== 'none'`)); err != nil {
		t.Fatalf("bob's section did not open on a click: %v", err)
	}
	var drill struct {
		Title string   `json:"title"`
		Cells []string `json:"cells"`
		Other bool     `json:"other"`
	}
	eval(`({title: document.querySelector('#s-bob h3').innerText,
		cells: [...document.querySelectorAll('#s-bob .result[data-task="deny-all"] table.cells tbody tr')].map(tr => tr.innerText),
		other: getComputedStyle(document.getElementById('s-alice')).display !== 'none'})`, &drill)
	if drill.Title != "bob: 13.3/20, 1/2 tasks passed" || len(drill.Cells) != 4 || drill.Other {
		t.Errorf("bob's drill-down: %+v", drill)
	}
	for _, c := range drill.Cells {
		if !strings.Contains(c, "-> kube-system/coredns:53/") || !strings.Contains(c, "\tallowed\tblocked") || !strings.Contains(c, "isolate egress of") {
			t.Errorf("bob's cell %q: want a DNS flow allowed that must be blocked, with the hint to isolate its egress", c)
		}
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "class-report.png")
	if *update {
		out = filepath.Join("..", "..", "assets", "screenshots", "class-report.png")
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// greenest and reddest read "rgb(r, g, b)".
func greenest(rgb string) bool {
	r, g, b := parseRGB(rgb)
	return g > r+40 && g > b+40
}

func reddest(rgb string) bool {
	r, g, b := parseRGB(rgb)
	return r > g+40 && r > b+40
}

func parseRGB(s string) (r, g, b int) {
	if _, err := fmt.Sscanf(s, "rgb(%d, %d, %d)", &r, &g, &b); err != nil {
		return -1000, 0, 0
	}
	return r, g, b
}
