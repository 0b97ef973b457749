package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.2 document of the whole HTTP interface; a test
// checks that it lists exactly the routes the router serves.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, openAPI)
}
