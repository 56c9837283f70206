package httpapi

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// spa serves the embedded single-page app: its files by path, and index.html for every other
// path so that deep links such as /admin/service-tokens work on reload.
type spa struct {
	files fs.FS
	index []byte
}

func newSPA(files fs.FS) (*spa, error) {
	var index []byte
	var err error
	if files != nil {
		index, err = fs.ReadFile(files, "index.html")
	}
	if files == nil || err != nil {
		// A binary built without the SPA still serves the API; say how to get the portal.
		index = []byte("<!doctype html><title>CodeMetrics</title><h1>CodeMetrics</h1>" +
			"<p>This binary was built without the web portal: run <code>make build</code>.</p>")
	}
	return &spa{files: files, index: index}, nil
}

func (s *spa) serve(c *gin.Context) {
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		c.Header("Allow", "GET, HEAD")
		methodNotAllowed(c)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+c.Request.URL.Path), "/")
	if name != "" && name != "index.html" && !hiddenPath(name) && s.files != nil {
		if f, err := s.files.Open(name); err == nil {
			st, err := f.Stat()
			f.Close()
			if err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					// Vite puts a content hash in every asset name.
					c.Header("Cache-Control", "public, max-age=31536000, immutable")
				}
				c.FileFromFS(name, http.FS(s.files))
				return
			}
		}
	}
	c.Header("Cache-Control", "no-cache")
	http.ServeContent(c.Writer, c.Request, "index.html", time.Time{}, bytes.NewReader(s.index))
}

// hiddenPath reports whether any element of name starts with a dot (.keep and the like).
func hiddenPath(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}
