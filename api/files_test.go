package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A write through the API is in the file; an edit of the file is in the API.
func TestFilesAndAPIStayInStep(t *testing.T) {
	e := newEnv(t, nil)
	file := filepath.Join(e.dir, e.reg.Snapshot().FileOf(oktellID))

	if r := e.patch(oktellID, writerToken, `{"trunksout":42}`, nil); r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	data, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(data), "trunksout: 42") {
		t.Fatalf("file after PATCH (%v):\n%s", err, data)
	}

	edited := strings.Replace(string(data), "trunksout: 42", "trunksout: 43", 1)
	writeFile(t, file, edited)
	if err := e.reg.Reload(); err != nil {
		t.Fatal(err)
	}
	if p := e.provider(oktellID); p["trunksout"] != float64(43) {
		t.Errorf("after a file edit and reload: trunksout %v", p["trunksout"])
	}

	// With the watcher running, an edit shows up by itself.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.reg.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("watch: %v", err)
		}
	}()
	// The watcher may still be setting up: keep touching the file until the
	// change is seen, each write a new value.
	deadline := time.Now().Add(10 * time.Second)
	for n := 44; ; n++ {
		writeFile(t, file, strings.Replace(edited, "trunksout: 43", fmt.Sprintf("trunksout: %d", n), 1))
		seen := false
		waitUntil(time.Second, func() bool {
			v, _ := e.provider(oktellID)["trunksout"].(float64)
			seen = v == float64(n)
			return seen
		})
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watcher never delivered a file edit to the API")
		}
	}
	newFile := filepath.Join(e.dir, "fresh.yaml")
	writeFile(t, newFile, providerYAML("fresh", "fresh.example"))
	waitFor(t, "a new file to appear in the list", 10*time.Second, func() bool {
		r := e.do(req{method: "LOOKUP", path: collectionPath, token: readerToken, body: `"fresh"`})
		return r.status == 200
	})
}

// waitUntil polls cond for at most d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// 50 clients increment one counter with read-modify-write under If-Match:
// no increment may be lost and the file must stay valid. A second round of
// blind PATCHes (no If-Match) to distinct fields must all land too.
func TestConcurrentPatches(t *testing.T) {
	e := newEnv(t, nil)
	const clients = 50
	start := int(e.provider(sipnetID)["trunksout"].(float64))
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- incrementTrunksOut(e.srv.URL, t)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	p, text := e.fileOf(sipnetID)
	if p.TrunksOut != start+clients {
		t.Errorf("trunksout %d, want %d: updates were lost", p.TrunksOut, start+clients)
	}
	if !strings.Contains(text, "# the SBC in front of sipnet.ru") {
		t.Errorf("comments lost under concurrency:\n%s", text)
	}

	// Blind PATCHes: each client sets its own opts.title; every response
	// must show its own change applied, with its own ext.lwt.
	wg = sync.WaitGroup{}
	lwts := make(chan string, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := doHTTP(t, e.srv.URL, req{method: http.MethodPatch, path: collectionPath + "/" + sipnetID, token: writerToken,
				body: fmt.Sprintf(`{"opts":{"title":"client %d"}}`, i)})
			var got struct {
				Opts struct{ Title string }
				Ext  struct{ LWT string }
			}
			if r.status != 200 || json.Unmarshal(r.body, &got) != nil || got.Opts.Title != fmt.Sprintf("client %d", i) {
				t.Errorf("client %d: %d %s", i, r.status, r.body)
			}
			lwts <- got.Ext.LWT
		}()
	}
	wg.Wait()
	close(lwts)
	seen := map[string]bool{}
	for l := range lwts {
		if seen[l] {
			t.Errorf("two PATCHes got the same ext.lwt %s: they were not serialised", l)
		}
		seen[l] = true
	}
	p, _ = e.fileOf(sipnetID)
	if !strings.HasPrefix(p.Opts.Title, "client ") || p.TrunksOut != start+clients {
		t.Errorf("final file: %+v", p)
	}
}

// incrementTrunksOut reads the provider and writes trunksout+1 under
// If-Match, retrying on 412, within a deadline.
func incrementTrunksOut(base string, t *testing.T) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r := doHTTP(t, base, req{method: http.MethodGet, path: collectionPath + "/" + sipnetID, token: writerToken})
		var cur struct{ TrunksOut int }
		if r.status != 200 || json.Unmarshal(r.body, &cur) != nil {
			return fmt.Errorf("GET: %d %s", r.status, r.body)
		}
		r = doHTTP(t, base, req{method: http.MethodPatch, path: collectionPath + "/" + sipnetID, token: writerToken,
			body: fmt.Sprintf(`{"trunksout":%d}`, cur.TrunksOut+1), header: map[string]string{"If-Match": r.header.Get("ETag")}})
		switch r.status {
		case http.StatusOK:
			return nil
		case http.StatusPreconditionFailed:
			continue
		default:
			return fmt.Errorf("PATCH: %d %s", r.status, r.body)
		}
	}
	return fmt.Errorf("no successful increment within the deadline")
}
