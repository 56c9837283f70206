package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3.1 description of the whole HTTP API. Tests check it against the
// router and validate every exchange of the HTTP tests against it (testenv), so that the
// handlers and the document cannot drift apart.
//
//go:embed openapi.json
var OpenAPI []byte

func (a *api) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", OpenAPI)
}
