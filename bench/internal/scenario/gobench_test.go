package scenario

import (
	"testing"
)

// TestParseGoBench reads go test -bench output into medians per benchmark and unit, in the
// order go test prints them, with custom units (queries/op) kept.
func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/codemetrics/codemetrics/backend/internal/token
cpu: Some CPU
BenchmarkIssue-2   	   37798	     14516 ns/op	    4856 B/op	      45 allocs/op
BenchmarkIssue-2   	   61009	     11717 ns/op	    4875 B/op	      45 allocs/op
BenchmarkIssue-2   	   61687	     11950 ns/op	    4864 B/op	      44 allocs/op
PASS
ok  	github.com/codemetrics/codemetrics/backend/internal/token	16.639s
pkg: github.com/codemetrics/codemetrics/backend/internal/httpapi
BenchmarkAuthMiddlewareServiceToken-2   	   42421	     13568 ns/op	         0 queries/op	    2858 B/op	      45 allocs/op
BenchmarkAuthMiddlewareServiceToken-2   	   57037	     11090 ns/op	         0 queries/op	    2858 B/op	      45 allocs/op
PASS
`
	got, err := ParseGoBench([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "token.Issue" || got[1].Name != "httpapi.AuthMiddlewareServiceToken" {
		t.Fatalf("benchmarks %+v", got)
	}
	if v, _ := got[0].Get("ns/op"); v != 11950 {
		t.Errorf("token.Issue ns/op median %v, want 11950", v)
	}
	if v, _ := got[0].Get("allocs/op"); v != 45 {
		t.Errorf("token.Issue allocs/op median %v, want 45", v)
	}
	if v, _ := got[1].Get("ns/op"); v != (13568+11090)/2 {
		t.Errorf("two runs: median %v, want their mean", v)
	}
	var units []string
	for _, v := range got[1].Values {
		units = append(units, v.Unit)
	}
	if len(units) != 4 || units[1] != "queries/op" {
		t.Errorf("units %v, want ns/op queries/op B/op allocs/op", units)
	}
}
