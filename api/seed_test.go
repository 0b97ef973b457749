package api

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The seed's list example, byte for byte, for every role: the list never
// carries pwd or opts.comment.
func TestSeedListExample(t *testing.T) {
	e := newEnv(t, nil)
	want := readTestdata(t, "seed_list.json")
	for _, token := range []string{adminToken, writerToken, readerToken} {
		r := e.get(collectionPath+"?offset=0&limit=2", token)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", token, r.status, r.body)
		}
		if got := string(r.body); got != want {
			t.Errorf("%s: list differs from the seed example:\n got: %s\nwant: %s", token, got, want)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if n := r.header.Get("X-Total-Count"); n != "2" {
			t.Errorf("X-Total-Count %q, want 2", n)
		}
	}
}

// The seed's single GET example is what an admin gets; other roles get the
// same entity without the pwd line.
func TestSeedGetExample(t *testing.T) {
	e := newEnv(t, nil)
	want := readTestdata(t, "seed_get.json")
	r := e.get(collectionPath+"/"+sipnetID, adminToken)
	if r.status != http.StatusOK || string(r.body) != want {
		t.Fatalf("admin GET: %d\n got: %s\nwant: %s", r.status, r.body, want)
	}
	if r.header.Get("ETag") == "" {
		t.Error("no ETag")
	}
	wantRedacted := strings.Replace(want, "  \"pwd\": \"VeryStrongPassword\",\n", "", 1)
	for _, token := range []string{writerToken, readerToken} {
		r := e.get(collectionPath+"/"+sipnetID, token)
		if r.status != http.StatusOK || string(r.body) != wantRedacted {
			t.Errorf("%s GET: %d\n got: %s\nwant: %s", token, r.status, r.body, wantRedacted)
		}
	}
}

// The seed's LOOKUP of "Oktell" and its miss.
func TestSeedLookupExample(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(req{method: "LOOKUP", path: collectionPath, token: readerToken, body: `"Oktell"`})
	if want := "[\n  \"" + oktellID + "\"\n]\n"; r.status != http.StatusOK || string(r.body) != want {
		t.Fatalf("LOOKUP Oktell: %d %q, want 200 %q", r.status, r.body, want)
	}
	r = e.do(req{method: "LOOKUP", path: collectionPath, token: readerToken, body: `"nobody"`})
	if want := readTestdata(t, "seed_lookup_miss.json"); r.status != http.StatusNotFound || string(r.body) != want {
		t.Fatalf("LOOKUP miss: %d %q, want 404 %q", r.status, r.body, want)
	}
}
