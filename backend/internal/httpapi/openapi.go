package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3.1 description of the whole HTTP API. A test checks it against the
// router, so that the two cannot drift apart.
//
//go:embed openapi.json
var OpenAPI []byte

func (a *api) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", OpenAPI)
}
