// Command bench is CodeMetrics' performance benchmark (make bench). It is not part of the
// product: it measures the built binary from outside, through its HTTP API, its command line
// and its Prometheus metrics, as an operator would.
//
//	bench run [-root DIR] [-bin bin/codemetrics] [-results bin/benchmarks.json] [-notes docs/benchmarks-notes.md] [-out docs/benchmarks.md] [-merge scale,dashboard,cluster]
//	    run the scenarios (BENCH_* variables; see README), write the results and the report;
//	    with -merge, only the named scenarios' figures replace those of the results file
//	bench report [-results F] [-notes F] [-out F]
//	    render the report again from a results file
//	bench bare
//	    serve the bare-JWT baseline (HTTP_ADDR, METRICS_ADDR, PUBLIC_URL, TOKEN_SIGNING_KEY,
//	    BARE_SYSTEM_CONFIG: the body of CodeMetrics' GET /api/system/config)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/codemetrics/codemetrics/bench/internal/bare"
	"github.com/codemetrics/codemetrics/bench/internal/report"
	"github.com/codemetrics/codemetrics/bench/internal/results"
	"github.com/codemetrics/codemetrics/bench/internal/scenario"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench run|report|bare [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = run(ctx, args)
	case "report":
		err = renderCmd(args)
	case "bare":
		err = serveBare(ctx)
	default:
		err = fmt.Errorf("unknown command %q (run, report or bare)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// paths are the files of a run, relative to the repository unless absolute.
type paths struct{ root, bin, results, notes, out string }

func (p *paths) flags(fs *flag.FlagSet) {
	fs.StringVar(&p.root, "root", "", "the repository (default: the directory holding go.work, above the working directory)")
	fs.StringVar(&p.results, "results", "bin/benchmarks.json", "the results file")
	fs.StringVar(&p.notes, "notes", "docs/benchmarks-notes.md", "the hand-written analysis the report includes")
	fs.StringVar(&p.out, "out", "docs/benchmarks.md", "the report")
}

func (p *paths) resolve() error {
	if p.root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
				p.root = dir
				break
			}
			if filepath.Dir(dir) == dir {
				return errors.New("no go.work above the working directory: give -root")
			}
		}
	}
	for _, f := range []*string{&p.bin, &p.results, &p.notes, &p.out} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(p.root, *f)
		}
	}
	return nil
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench run", flag.ContinueOnError)
	var p paths
	p.flags(fs)
	fs.StringVar(&p.bin, "bin", "bin/codemetrics", "the codemetrics binary to measure (make build)")
	command := fs.String("command", "make bench", "the command the report says it was written by")
	merge := fs.String("merge", "", "keep the results file's figures and replace only those of these comma-separated scenarios: "+strings.Join(mergeable, ", ")+" (make bench-scale, make bench-cluster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var names []string
	if *merge != "" {
		names = strings.Split(*merge, ",")
		for _, n := range names {
			if !slices.Contains(mergeable, n) {
				return fmt.Errorf("-merge: the figures of %q cannot be merged (only %s)", n, strings.Join(mergeable, ", "))
			}
		}
	}
	if err := p.resolve(); err != nil {
		return err
	}
	settings, err := scenario.LoadSettings()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "codemetrics-bench-")
	if err != nil {
		return err
	}
	res := &results.Results{Run: results.Run{Command: *command}}
	b := &scenario.Bench{Settings: settings, Root: p.root, Bin: p.bin, Self: self, Work: work, Results: res}
	runErr := b.Run(ctx)
	if runErr == nil {
		os.RemoveAll(work)
	} else {
		fmt.Fprintf(os.Stderr, "bench: the servers' logs and databases are kept in %s\n", work)
	}
	if err := os.MkdirAll(filepath.Dir(p.results), 0o755); err != nil {
		return err
	}
	if names != nil {
		res, err = mergeInto(p.results, res, names)
		if err != nil {
			return err
		}
	}
	if err := res.Write(p.results); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("%w (what was measured is in %s)", runErr, p.results)
	}
	if err := render(p); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s (results in %s)\n", p.out, p.results)
	return nil
}

// mergeable are the scenarios whose figures -merge can put into earlier results: those that run
// only when named, each with a date of its own in the report.
var mergeable = []string{"scale", "dashboard", "cluster"}

// mergeInto is the results file at path (when there is one) with the figures of the scenarios
// names (of mergeable) that res measured in place of its own: make bench-scale and make
// bench-cluster add theirs to those of the last make bench.
func mergeInto(path string, res *results.Results, names []string) (*results.Results, error) {
	old, err := results.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		switch n {
		case "cluster":
			if res.Cluster != nil {
				old.Cluster = res.Cluster
			}
		case "scale", "dashboard":
			for _, d := range res.Databases {
				if n == "scale" && d.Scale != nil {
					old.Database(d.Name).Scale = d.Scale
				}
				if n == "dashboard" && d.Dashboard != nil {
					old.Database(d.Name).Dashboard = d.Dashboard
				}
			}
		}
	}
	return old, nil
}

func renderCmd(args []string) error {
	fs := flag.NewFlagSet("bench report", flag.ContinueOnError)
	var p paths
	p.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := p.resolve(); err != nil {
		return err
	}
	return render(p)
}

func render(p paths) error {
	res, err := results.Read(p.results)
	if err != nil {
		return err
	}
	notes, err := os.ReadFile(p.notes)
	if err != nil {
		return err
	}
	md, err := report.Render(res, string(notes))
	if err != nil {
		return err
	}
	return os.WriteFile(p.out, md, 0o644)
}

func serveBare(ctx context.Context) error {
	body := os.Getenv("BARE_SYSTEM_CONFIG")
	var sys struct {
		TokenIssuer string `json:"tokenIssuer"`
	}
	if err := json.Unmarshal([]byte(body), &sys); err != nil || sys.TokenIssuer == "" {
		return fmt.Errorf("BARE_SYSTEM_CONFIG is not CodeMetrics' system configuration: %v", err)
	}
	h, err := bare.NewRouter(bare.Config{
		Key: []byte(os.Getenv("TOKEN_SIGNING_KEY")), Issuer: sys.TokenIssuer,
		PublicURL: os.Getenv("PUBLIC_URL"), SystemConfig: []byte(body),
	}, slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	return bare.Serve(ctx, os.Getenv("HTTP_ADDR"), os.Getenv("METRICS_ADDR"), h)
}
