package benchmark

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeResults(t *testing.T, facts, results string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "facts.tsv"), []byte(facts), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReportTokensPage(t *testing.T) {
	// A line as e2e/bench/tokens-page.mjs prints it.
	line := `{"tags":{"kind":"browser","page":"/admin/service-tokens","db":"sqlite","tokens":"10000"},"loads":5,` +
		`"firstPageRows":50,"pageTotal":10001,"chromium":"156.0.8078.79",` +
		`"domContentLoadedMs":[603.1,592.5,522.2,552.1,688.1],"firstContentfulPaintMs":[772,728,644,732,812],` +
		`"tokensResponseEndMs":[838.4,777.9,727.1,792.6,953.1],"rowsShownMs":[1046.8,1074.9,949.8,1012.8,1225.1],` +
		`"usableMs":[1164.6,1165,1119.5,1130.8,1365.9],"clickSentAfterRowsMs":[100,104.2,151.2,90.1,126.9],` +
		`"inputDelayMs":[39.4,13.4,19.1,17.4,47.4],"clickToDialogMs":[108.2,77.5,97.6,95.9,138.1],` +
		`"filterMs":[355.2,320.3,368.3,363,371.7]}` + "\n"
	dir := writeResults(t, "browser_loads\t5\nbrowser_failed_mysql_10000\t1\n", line)
	md, err := Report(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"headless Chromium 156.0.8078.79",
		"**median over 5 loads**",
		"| SQLite | 10000 | 50 of 10001 | 592 (688) | 732 (812) | 793 (953) | 1047 (1225) | **1165 (1366)** | 104 (151) | 19 (47) | 98 (138) | 363 (372) |",
		"| MariaDB | 10000 | the measurement failed",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "pending") {
		t.Errorf("the report still calls a figure pending:\n%s", md)
	}
}

func TestReportTokensPageSkipped(t *testing.T) {
	dir := writeResults(t, "browser_skipped\tBENCH_BROWSER=0\n", "")
	md, err := Report(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "### The tokens page in Chromium\n\nNot measured in this run: BENCH_BROWSER=0.\n"; !strings.Contains(md, want) {
		t.Errorf("the report lacks %q:\n%s", want, md)
	}
}

// loadLine is a loadgen result line as bench.sh records it.
func loadLine(kind, db, target, rate string, rps, p99 float64) string {
	return `{"tags":{"kind":"` + kind + `","db":"` + db + `","target":"` + target + `","conns":"64","rate":"` + rate + `"},` +
		`"requests":1000,"rps":` + f0(rps) + `,"p50Ms":0.5,"p90Ms":1,"p99Ms":` + f2(p99) + `,"maxMs":9,"statuses":{"200":1000}}` + "\n"
}

func TestReportP99GoalJudgesTheOpenLoop(t *testing.T) {
	closed := loadLine("load", "sqlite", "healthz", "", 20000, 11) + loadLine("load", "sqlite", "auth", "", 19000, 11.8)
	for _, c := range []struct {
		name, lines, verdict string
	}{
		{"open loop under 5 ms", closed + loadLine("latency", "sqlite", "auth", "10000", 9990, 3.25), "met"},
		{"open loop over 5 ms", closed + loadLine("latency", "sqlite", "auth", "10000", 9990, 6.5), "**missed**"},
		{"closed loop only", closed, "**missed**"},
	} {
		md, err := Report(writeResults(t, "", c.lines))
		if err != nil {
			t.Fatal(err)
		}
		if want := "| authenticated / unauthenticated throughput (same run) | ≥ 0.90 | SQLite/64: 0.95 | met |"; !strings.Contains(md, want) {
			t.Errorf("%s: the report lacks %q", c.name, want)
		}
		var row string
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(line, "| p99 at 64 connections") {
				row = line
			}
		}
		if !strings.HasSuffix(row, "| "+c.verdict+" |") {
			t.Errorf("%s: goal row %q, want verdict %s", c.name, row, c.verdict)
		}
		if strings.Contains(c.lines, `"latency"`) {
			for _, want := range []string{"open loop at a fixed rate: SQLite: ", "10000 req/s offered, 50% of the closed-loop `/healthz` throughput", "closed loop at saturation (queueing, see section 1): SQLite: 11.80 ms"} {
				if !strings.Contains(row, want) {
					t.Errorf("%s: goal row %q lacks %q", c.name, row, want)
				}
			}
			if !strings.Contains(md, "| SQLite | auth | 10000 | 9990 | 0.500 | 1.000 |") {
				t.Errorf("%s: no open-loop table row:\n%s", c.name, md)
			}
		}
	}
}
