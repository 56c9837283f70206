package scenario

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/codemetrics/codemetrics/bench/internal/results"
)

// goBenchPackages hold the in-process Go benchmarks, by module: the product's (its *_test.go
// files) and the bare-JWT baseline's.
var goBenchPackages = []struct {
	module   string
	packages []string
}{
	{"backend", []string{"./internal/token/", "./internal/httpapi/"}},
	{"bench", []string{"./internal/bare/"}},
}

// goBench is section 6: the Go benchmarks, medians per unit.
func goBench(ctx context.Context, b *Bench) error {
	g := &results.GoBench{}
	var commands []string
	for _, m := range goBenchPackages {
		args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", itoa(b.GoCount), "-benchtime", b.GoBenchTime}, m.packages...)
		out, err := b.goIn(ctx, m.module, os.Stderr, args...)
		if err != nil {
			return err
		}
		benches, err := ParseGoBench(out)
		if err != nil {
			return err
		}
		commands = append(commands, "(cd "+m.module+" && "+shell("go", args...)+")")
		g.Raw += string(out)
		g.Benchmarks = append(g.Benchmarks, benches...)
	}
	g.Command = strings.Join(commands, "; ")
	b.Results.GoBench = g
	return nil
}

// profile is the CPU profile of the authenticated request path (pprof -top).
func profile(ctx context.Context, b *Bench) error {
	prof, bin := filepath.Join(b.Work, "cpu.out"), filepath.Join(b.Work, "httpapi.test")
	bench := []string{"test", "-run", "^$", "-bench", "AuthMiddlewareServiceToken$", "-benchtime", "3s"}
	if _, err := b.goIn(ctx, "backend", nil, append(bench, "-cpuprofile", prof, "-o", bin, "./internal/httpapi/")...); err != nil {
		return err
	}
	top, err := b.goIn(ctx, "backend", nil, "tool", "pprof", "-top", "-cum", "-nodecount", "35", bin, prof)
	if err != nil {
		return err
	}
	var keep []string
	for _, l := range strings.SplitAfter(string(top), "\n") {
		if !strings.HasPrefix(l, "File:") && !strings.HasPrefix(l, "Build ID:") && !strings.HasPrefix(l, "Time:") {
			keep = append(keep, l)
		}
	}
	b.Results.Profile = &results.Profile{
		Command: "cd backend && " + shell("go", append(bench, "-cpuprofile", "cpu.out", "./internal/httpapi/")...),
		Top:     strings.Join(keep, ""),
	}
	return nil
}

// goIn runs the go command in the module's directory and returns its standard output (copied
// to tee too).
func (b *Bench) goIn(ctx context.Context, module string, tee *os.File, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(b.Root, module)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if tee != nil {
		cmd.Stdout = teeWriter{&out, tee}
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s%s", shell("go", args...), err, out.Bytes(), stderr.Bytes())
	}
	return out.Bytes(), nil
}

type teeWriter struct {
	buf *bytes.Buffer
	f   *os.File
}

func (t teeWriter) Write(p []byte) (int, error) {
	_, _ = t.f.Write(p)
	return t.buf.Write(p)
}

// ParseGoBench reads go test -bench output (with golang.org/x/perf/benchfmt): each benchmark,
// named package.Name, with the median of each unit over its runs.
func ParseGoBench(out []byte) ([]results.Benchmark, error) {
	r := benchfmt.NewReader(bytes.NewReader(out), "go test")
	type acc struct {
		units []string
		vals  map[string][]float64
	}
	var order []string
	byName := map[string]*acc{}
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue // a syntax error or a unit line
		}
		pkg := res.GetConfig("pkg")
		name := pkg[strings.LastIndex(pkg, "/")+1:] + "." + string(res.Name.Base())
		a := byName[name]
		if a == nil {
			a = &acc{vals: map[string][]float64{}}
			byName[name] = a
			order = append(order, name)
		}
		for _, v := range res.Values {
			unit, val := v.Unit, v.Value
			if v.OrigUnit != "" { // as go test printed it (ns/op), not as benchfmt tidies it (sec/op)
				unit, val = v.OrigUnit, v.OrigValue
			}
			if _, seen := a.vals[unit]; !seen {
				a.units = append(a.units, unit)
			}
			a.vals[unit] = append(a.vals[unit], val)
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	var list []results.Benchmark
	for _, name := range order {
		a := byName[name]
		bm := results.Benchmark{Name: name}
		for _, u := range a.units {
			bm.Values = append(bm.Values, results.Value{Unit: u, Median: results.Median(a.vals[u])})
		}
		list = append(list, bm)
	}
	return list, nil
}

// shell writes a command as one would type it.
func shell(name string, args ...string) string {
	parts := []string{name}
	for _, a := range args {
		if strings.ContainsAny(a, "^$*? '\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
