package api

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/schema_validation"
)

func newOpenAPIValidator(t *testing.T) validator.Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(openAPI)
	if err != nil {
		t.Fatalf("parse openapi.json: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("build validator: %v", errs)
	}
	return v
}

// The document is valid OpenAPI 3.2 by the specification's own schema
// (libopenapi-validator embeds it), additionalOperations included.
func TestOpenAPIIsValid32(t *testing.T) {
	v := newOpenAPIValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %+v", se)
			}
		}
	}
}

// Real responses of every documented operation conform to the document:
// status codes, headers and body schemas, for good and for bad requests
// (LOOKUP: TestLookupMatchesOpenAPI).
func TestResponsesMatchOpenAPI(t *testing.T) {
	e := newEnv(t, listFixture, func(o *Options) {
		o.Prober = probed(map[string]string{sipnetID: "registered"})
		o.Confirm = &confirmer{}
	})
	v := newOpenAPIValidator(t)
	etag := e.get(collectionPath+"/"+oktellID, adminToken).header.Get("ETag")
	cases := []struct {
		method, path, token, body string
		header                    map[string]string
	}{
		{"GET", collectionPath, readerToken, "", nil},
		{"GET", collectionPath + "?limit=2&offset=1&order=-code", readerToken, "", nil},
		{"GET", collectionPath + "?flat=true&mask=code,lic,ext", adminToken, "", nil},
		{"GET", collectionPath + "?filter=" + escapeQuery(`x={"enabled":1}`)[2:], readerToken, "", nil},
		{"GET", collectionPath + "?limit=-1", readerToken, "", nil},
		{"GET", collectionPath, "", "", nil},
		{"GET", collectionPath + "/" + sipnetID, adminToken, "", nil},
		{"GET", collectionPath + "/" + sipnetID + "?flat=true", readerToken, "", nil},
		{"GET", collectionPath + "/" + sipnetID + "?mask=code", readerToken, "", nil},
		{"GET", collectionPath + "/00000000-0000-0000-0000-000000000000", readerToken, "", nil},
		{"POST", collectionPath, writerToken, `{"code":"oa1","domain":"oa1.example","lic":{"siptrunks":3}}`, nil},
		{"POST", collectionPath, adminToken, `{"code":"oa2","domain":"oa2.example","pwd":"p"}`, nil},
		{"POST", collectionPath, writerToken, `{"code":"oa1","domain":"oa1.example"}`, nil},
		{"POST", collectionPath, readerToken, `{"code":"oa3","domain":"oa3.example"}`, nil},
		{"PATCH", collectionPath + "/" + oktellID, writerToken, `{"trunksout":5}`, map[string]string{"If-Match": etag}},
		{"PATCH", collectionPath + "/" + oktellID, writerToken, `{"trunksout":6}`, map[string]string{"If-Match": etag}},
		{"PATCH", collectionPath + "/" + oktellID, writerToken, `{"id":"` + sipnetID + `"}`, nil},
		{"DELETE", collectionPath + "/" + registryDerived("oa1"), writerToken, "", nil},
		{"DELETE", collectionPath + "/" + registryDerived("oa1"), writerToken, "", nil},
		{"GET", collectionPath + "/" + sipnetID + "/state", readerToken, "", nil},
		{"GET", collectionPath + "/" + oktellID + "/state", readerToken, "", nil},
		{"POST", "/rest/v1/render/held/confirm", adminToken, "", nil},
		{"POST", "/rest/v1/render/other/confirm", adminToken, "", nil},
		{"GET", "/healthz", "", "", nil},
		{"GET", "/readyz", "", "", nil},
		{"GET", "/status", "", "", nil},
		{"GET", "/metrics", "", "", nil},
		{"GET", "/rest/v1/openapi.json", "", "", nil},
	}
	for _, tc := range cases {
		rq, err := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.body != "" {
			rq.Header.Set("Content-Type", "application/json")
		}
		if tc.token != "" {
			rq.Header.Set("Authorization", "Bearer "+tc.token)
		}
		for k, val := range tc.header {
			rq.Header.Set(k, val)
		}
		res, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(body))
		rq.Body = io.NopCloser(strings.NewReader(tc.body))
		ok, errs := v.ValidateHttpResponse(rq, res)
		if !ok {
			for _, ve := range errs {
				t.Errorf("%s %s → %d: %s: %s", tc.method, tc.path, res.StatusCode, ve.Message, ve.Reason)
				for _, se := range ve.SchemaValidationErrors {
					t.Errorf("    %+v", se)
				}
			}
		}
	}
}

// LOOKUP's real answers conform to its additionalOperations entry: the
// validator finds the operation in the document's model, but its request
// and response validation only knows the fixed methods, so the body is
// checked against the documented schema directly.
func TestLookupMatchesOpenAPI(t *testing.T) {
	e := newEnv(t, nil)
	doc, err := libopenapi.NewDocument(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	item := model.Model.Paths.PathItems.GetOrZero(collectionPath)
	if item == nil || item.AdditionalOperations == nil {
		t.Fatal("the collection has no additionalOperations")
	}
	op := item.AdditionalOperations.GetOrZero(methodLookup)
	if op == nil {
		t.Fatal("additionalOperations has no LOOKUP")
	}
	sv := schema_validation.NewSchemaValidator()
	for _, key := range []string{`"Oktell"`, `"nobody"`, `42`} {
		r := e.do(req{method: methodLookup, path: collectionPath, token: readerToken, body: key})
		resp := op.Responses.Codes.GetOrZero(strconv.Itoa(r.status))
		if resp == nil {
			t.Errorf("LOOKUP %s → %d: status not documented", key, r.status)
			continue
		}
		media := resp.Content.GetOrZero("application/json")
		if media == nil || media.Schema == nil {
			t.Errorf("LOOKUP %s → %d: no application/json schema", key, r.status)
			continue
		}
		if ok, errs := sv.ValidateSchemaBytes(media.Schema.Schema(), r.body); !ok {
			for _, ve := range errs {
				t.Errorf("LOOKUP %s → %d: %s: %s", key, r.status, ve.Message, ve.Reason)
			}
		}
	}
}

// A write the providers directory refuses answers the documented 500. The
// tests run as root, whom a read-only mode does not stop, so the directory
// is taken away instead: the same failure to write, reached the same way.
func TestWriteFailureMatchesOpenAPI(t *testing.T) {
	e := newEnv(t, nil)
	v := newOpenAPIValidator(t)
	if err := os.RemoveAll(e.dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", collectionPath, `{"code":"nowhere","domain":"nowhere.example"}`},
	} {
		rq, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
		rq.Header.Set("Content-Type", "application/json")
		rq.Header.Set("Authorization", "Bearer "+writerToken)
		res, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusInternalServerError {
			t.Errorf("%s into a missing directory: %d %s, want 500", tc.method, res.StatusCode, body)
			continue
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		rq.Body = io.NopCloser(strings.NewReader(tc.body))
		if ok, errs := v.ValidateHttpResponse(rq, res); !ok {
			for _, ve := range errs {
				t.Errorf("%s → 500: %s: %s", tc.method, ve.Message, ve.Reason)
			}
		}
	}
}
