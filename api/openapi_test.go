package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// openAPIDoc is the part of the document the tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components map[string]map[string]json.RawMessage `json:"components"`
}

var pathItemMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// documentedRoutes lists "METHOD /path" for every operation of the
// document, LOOKUP from additionalOperations.
func documentedRoutes(t *testing.T, doc openAPIDoc) []string {
	t.Helper()
	var out []string
	for path, item := range doc.Paths {
		for key, raw := range item {
			switch {
			case slices.Contains(pathItemMethods, key):
				out = append(out, strings.ToUpper(key)+" "+path)
			case key == "additionalOperations":
				var ops map[string]json.RawMessage
				if err := json.Unmarshal(raw, &ops); err != nil {
					t.Fatal(err)
				}
				for m := range ops {
					out = append(out, m+" "+path)
				}
			case key == "parameters" || key == "summary" || key == "description":
			default:
				t.Errorf("path %s: unexpected key %q", path, key)
			}
		}
	}
	sort.Strings(out)
	return out
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

// Every route the router serves is in the document, and vice versa.
func TestRoutesMatchOpenAPI(t *testing.T) {
	mux, _ := newRouter(Options{Logger: discardLogger()})
	var served []string
	err := chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served = append(served, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(served)
	documented := documentedRoutes(t, loadOpenAPI(t))
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("served but not in openapi.json: %s", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("in openapi.json but not served: %s", r)
		}
	}
	if len(served) < 12 {
		t.Errorf("only %d routes walked: %v", len(served), served)
	}
}

// The document is OpenAPI 3.2, every $ref resolves, every operation has an
// operationId (unique) and responses, and the served copy is the embedded one.
func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.2.") {
		t.Errorf("openapi %q, want 3.2.x", doc.OpenAPI)
	}
	var all any
	if err := json.Unmarshal(openAPI, &all); err != nil {
		t.Fatal(err)
	}
	walkRefs(all, func(ref string) {
		parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
		if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
			t.Errorf("unresolved $ref %s", ref)
		}
	})
	ids := map[string]bool{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(pathItemMethods, key) && key != "additionalOperations" {
				continue
			}
			ops := map[string]json.RawMessage{key: raw}
			if key == "additionalOperations" {
				ops = map[string]json.RawMessage{}
				if err := json.Unmarshal(raw, &ops); err != nil {
					t.Fatal(err)
				}
			}
			for m, opRaw := range ops {
				var op struct {
					OperationID string                     `json:"operationId"`
					Responses   map[string]json.RawMessage `json:"responses"`
				}
				if err := json.Unmarshal(opRaw, &op); err != nil {
					t.Fatal(err)
				}
				if op.OperationID == "" || ids[op.OperationID] || len(op.Responses) == 0 {
					t.Errorf("%s %s: operationId %q (dup %v), %d responses", m, path, op.OperationID, ids[op.OperationID], len(op.Responses))
				}
				ids[op.OperationID] = true
			}
		}
	}
	srv := newEnv(t, nil)
	if r := srv.get("/rest/v1/openapi.json", ""); r.status != 200 || string(r.body) != string(openAPI) {
		t.Errorf("served document differs from the embedded one: %d", r.status)
	}
}

func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "$ref" {
				fn(s)
			}
			walkRefs(val, fn)
		}
	case []any:
		for _, it := range x {
			walkRefs(it, fn)
		}
	}
}
