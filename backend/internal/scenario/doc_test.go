package scenario

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsNameTheTestsWhereTheyAre: docs/security.md names, for every attack, the tests that
// try it and the file each is in; this package's comment lists its files. A test renamed or
// moved without its row, or a scenario file the comment does not list, fails here.
func TestDocsNameTheTestsWhereTheyAre(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]*)`( in `([a-z/_]+\\.go)`)?")
	rows := 0
	for _, m := range named.FindAllStringSubmatch(string(doc), -1) {
		rows++
		name, file := m[1], m[3]
		if file == "" {
			t.Errorf("docs/security.md names %s without its file (`%s` in `package/file_test.go`)", name, name)
			continue
		}
		path := filepath.Join("..", file) // under backend/internal
		if strings.HasPrefix(file, "cmd/") {
			path = filepath.Join("../..", file)
		}
		src, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(src), "\nfunc "+name+"(") {
			t.Errorf("docs/security.md names %s in %s, which has no such test (%v)", name, file, err)
		}
	}
	if rows < 50 {
		t.Fatalf("found %d tests named in docs/security.md: the table's format changed", rows)
	}

	pkg, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "doc_test.go" && !strings.Contains(string(pkg), "//   - "+f+":") {
			t.Errorf("the package comment in doc.go does not say what %s holds", f)
		}
	}
}
