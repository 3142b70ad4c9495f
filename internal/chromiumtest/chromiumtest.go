// Package chromiumtest drives the machine's headless Chromium for tests of
// what dbopsd renders for people (drill reports, diagnosis pages, data
// dictionaries, monthly reports): a screenshot, the DOM after scripts ran,
// and a layout probe that finds cells narrower than their words. A missing
// Chromium fails the test (make deps installs it); it never skips.
package chromiumtest

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Path is the Chromium binary; the test fails when there is none.
func Path(t testing.TB) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is missing (%v): apt-get install -y chromium, or make deps", err)
	}
	return chromium
}

// Args start a headless Chromium that leaves nothing behind but its
// profile, with a window width pixels wide.
func Args(profile string, width int) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--hide-scrollbars", "--disable-background-networking", "--disable-quic", "--disable-component-update",
		"--disable-sync", "--user-data-dir=" + profile, fmt.Sprintf("--window-size=%d,2400", width)}
}

// Screenshot writes page to base.html, renders it 1000 pixels wide into
// base.png (kept as the test's artifact) and returns the image.
func Screenshot(t testing.TB, base string, page []byte) image.Image {
	t.Helper()
	chromium := Path(t)
	file, shot := base+".html", base+".png"
	if err := os.WriteFile(file, page, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append(Args(base+"-profile", 1000), "--screenshot="+shot, "file://"+file)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%dx%d)", shot, img.Bounds().Dx(), img.Bounds().Dy())
	return img
}

// DumpDOM writes page to base.html, loads it width pixels wide, lets its
// scripts run and returns the serialised DOM and what Chromium printed on
// stderr (console errors appear there).
func DumpDOM(t testing.TB, base string, page []byte, width int) (dom, stderr []byte) {
	t.Helper()
	chromium := Path(t)
	file := base + ".html"
	if err := os.WriteFile(file, page, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append(Args(base+"-profile", width), "--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+file)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.Bytes())
	}
	return out, errb.Bytes()
}

// LayoutProbe measures the laid-out page: for every table cell, the width
// of its content box against the width of the shortest word of its text
// (a word: letters and digits between spaces and punctuation, measured in
// the cell's font, unbroken; cells that break anywhere by design, digests
// and ids, excepted), and its content against its box. It writes
// one line per problem into #layout-problems, and "measured N cells".
const LayoutProbe = `<script>
(function () {
  var problems = [], cells = document.querySelectorAll("td, th");
  var probe = document.createElement("span");
  probe.style.cssText = "position:absolute;left:-10000px;top:0;white-space:nowrap;";
  document.body.appendChild(probe);
  cells.forEach(function (c, i) {
    var walker = document.createTreeWalker(c, NodeFilter.SHOW_TEXT), node, shortest = null;
    while ((node = walker.nextNode())) {
      node.data.split(/[\s\p{P}\p{S}]+/u).forEach(function (w) {
        if (w === "") return;
        probe.style.font = getComputedStyle(node.parentElement).font;
        probe.textContent = w;
        var width = probe.getBoundingClientRect().width;
        if (shortest === null || width < shortest.width) shortest = {word: w, width: width};
      });
    }
    var cs = getComputedStyle(c);
    // Digests, fingerprints and ids (monospace, break-all) may break
    // anywhere: a 64-digit digest is wider than a phone.
    if (shortest === null || cs.wordBreak === "break-all") return;
    var content = c.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    var what = c.tagName.toLowerCase() + " " + JSON.stringify(c.innerText.trim().slice(0, 40));
    if (content + 0.5 < shortest.width) {
      problems.push(what + ": " + content.toFixed(1) + "px wide, narrower than its shortest word " +
        JSON.stringify(shortest.word) + " (" + shortest.width.toFixed(1) + "px)");
    }
    if (c.scrollWidth > c.clientWidth + 1) {
      problems.push(what + ": its content (" + c.scrollWidth + "px) overflows the cell (" + c.clientWidth + "px)");
    }
  });
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push("the page is " + document.documentElement.scrollWidth + "px wide in a " + window.innerWidth + "px window");
  }
  var out = document.createElement("pre");
  out.id = "layout-problems";
  out.textContent = problems.join("\n") + "\nmeasured " + cells.length + " cells";
  document.body.appendChild(out);
})();
</script>`

var measured = regexp.MustCompile(`(?s)<pre id="layout-problems">(.*?)measured (\d+) cells</pre>`)

// MeasureLayout loads page, with LayoutProbe, in a window width pixels
// wide, and returns the problems it found; it fails the test when the
// probe measured fewer than minCells cells.
func MeasureLayout(t testing.TB, base string, page []byte, width, minCells int) []string {
	t.Helper()
	probed := bytes.Replace(page, []byte("</body>"), []byte(LayoutProbe+"\n</body>"), 1)
	out, stderr := DumpDOM(t, base, probed, width)
	m := measured.FindSubmatch(out)
	if m == nil {
		t.Fatalf("the layout probe did not run:\n%s", stderr)
	}
	if n, _ := strconv.Atoi(string(m[2])); n < minCells {
		t.Fatalf("the probe measured %d cells", n)
	}
	var problems []string
	for _, line := range strings.Split(html.UnescapeString(string(m[1])), "\n") {
		if line != "" {
			problems = append(problems, line)
		}
	}
	return problems
}
