package api

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCluster is a cluster node whose fenced state the test switches.
type fakeCluster struct {
	fenced atomic.Bool
	status ClusterStatus
}

func (c *fakeCluster) Fenced() bool { return c.fenced.Load() }

func (c *fakeCluster) ClusterStatus() ClusterStatus {
	st := c.status
	st.Fenced = c.fenced.Load()
	return st
}

func clusterFixture(now time.Time) *fakeCluster {
	return &fakeCluster{status: ClusterStatus{Node: "edge-1", Group: -1,
		Lease:      LeaseHealth{TTLSeconds: 3, LastKeepAlive: now.Add(-time.Second), Deadline: now.Add(1500 * time.Millisecond)},
		Generation: 7, Applied: 7,
		Nodes:   []ClusterNode{{Name: "edge-2", Trunks: 1}, {Name: "edge-1", Self: true, Trunks: 1}},
		Owners:  map[string]string{"3528769": "edge-1", "Oktell": "edge-2"},
		Changes: []OwnershipChange{{Time: now.Add(-time.Minute), Code: "Oktell", From: "edge-1", To: "edge-2"}}}}
}

// A fenced node answers /readyz with 503 and refuses every write with a
// 503 naming the reason, before anything is applied: the file stays as it
// was. Unfenced, both work again.
func TestFencedNodeRefusesWrites(t *testing.T) {
	c := clusterFixture(time.Now())
	e := newEnv(t, nil, func(o *Options) { o.Cluster = c })
	if r := e.get("/readyz", ""); r.status != http.StatusOK {
		t.Fatalf("unfenced /readyz: %d %s", r.status, r.body)
	}
	c.fenced.Store(true)
	r := e.get("/readyz", "")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"status": "fenced"`) || r.header.Get("Retry-After") == "" {
		t.Fatalf("fenced /readyz: %d %v %s", r.status, r.header, r.body)
	}
	if r := e.get("/healthz", ""); r.status != http.StatusOK {
		t.Errorf("a fenced node is alive (no restart helps): /healthz %d", r.status)
	}
	_, before := e.fileOf(oktellID)
	for _, rq := range []req{
		{method: http.MethodPatch, path: collectionPath + "/" + oktellID, token: writerToken, body: `{"trunksout":5}`},
		{method: http.MethodDelete, path: collectionPath + "/" + oktellID, token: writerToken},
		{method: http.MethodPost, path: collectionPath, token: writerToken, body: `{"code":"new1","domain":"new1.example"}`},
	} {
		r := e.do(rq)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s while fenced: %d %s", rq.method, r.status, r.body)
			continue
		}
		if b := r.errorBody(t); b.Code != 1503 || !strings.Contains(b.Message, "this node is fenced") || !strings.Contains(b.Message, "not applied") {
			t.Errorf("%s while fenced: body %+v", rq.method, b)
		}
	}
	if _, after := e.fileOf(oktellID); after != before {
		t.Error("a refused write changed the file")
	}
	if _, err := os.Stat(filepath.Join(e.dir, "new1.yaml")); err == nil {
		t.Error("a refused POST wrote a file")
	}
	c.fenced.Store(false)
	if r := e.do(req{method: http.MethodPatch, path: collectionPath + "/" + oktellID, token: writerToken, body: `{"trunksout":5}`}); r.status != http.StatusOK {
		t.Errorf("PATCH after the fence lifted: %d %s", r.status, r.body)
	}
}

// /status carries the cluster section as the node sees it, and its
// responses, fenced or not, match the OpenAPI document.
func TestStatusShowsCluster(t *testing.T) {
	now := time.Now()
	c := clusterFixture(now)
	e := newEnv(t, nil, func(o *Options) { o.Cluster = c })
	var st struct {
		Cluster struct {
			Node   string            `json:"node"`
			Fenced bool              `json:"fenced"`
			Owners map[string]string `json:"owners"`
			Nodes  []ClusterNode     `json:"nodes"`
			Lease  struct {
				TTL      float64   `json:"ttl_seconds"`
				Deadline time.Time `json:"deadline"`
			} `json:"lease"`
			Changes []OwnershipChange `json:"changes"`
		} `json:"cluster"`
	}
	e.get("/status", "").json(t, &st)
	got := st.Cluster
	if got.Node != "edge-1" || got.Fenced || got.Owners["Oktell"] != "edge-2" || len(got.Nodes) != 2 ||
		got.Lease.TTL != 3 || got.Lease.Deadline.IsZero() || len(got.Changes) != 1 || got.Changes[0].To != "edge-2" {
		t.Errorf("/status cluster = %+v", got)
	}
	v := newOpenAPIValidator(t)
	for _, fenced := range []bool{false, true} {
		c.fenced.Store(fenced)
		for _, path := range []string{"/status", "/readyz"} {
			rq, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
			res, err := http.DefaultClient.Do(rq)
			if err != nil {
				t.Fatal(err)
			}
			if ok, errs := v.ValidateHttpResponse(rq, res); !ok {
				for _, ve := range errs {
					t.Errorf("GET %s (fenced %v) → %d: %s: %s", path, fenced, res.StatusCode, ve.Message, ve.Reason)
				}
			}
			res.Body.Close()
		}
	}
}

// The status page shows the cluster: the node, its lease, the live nodes,
// the ownership changes, each active trunk's owner, and the fenced state
// in red.
func TestStatusPageCluster(t *testing.T) {
	now := time.Now()
	c := clusterFixture(now)
	c.status.Owners = map[string]string{"3528769": "edge-1", "Oktell": "edge-2"}
	e := newPageEnv(t, func(o *Options) { o.Cluster = c; o.ServerIndex = 11 })
	root := parseDOM(t, fetchPage(t, e, "/", "").body)
	rows := rowByCode(tableRows(t, root, "trunk-table"))
	wantCell(t, rows["3528769"], "status", "active", "registered from this node")
	wantCell(t, rows["Oktell"], "status", "active", "owner edge-2")
	wantCell(t, rows["beta-carrier"], "status", "active", "no owner")
	if s := rows["zz-disabled"].cells["status"]; strings.Contains(s, "owner") {
		t.Errorf("a disabled trunk shows an owner: %q", s)
	}
	sec := root.byID("cluster").textContent()
	for _, want := range []string{"Node edge-1", "lease TTL 3 s", "last keep-alive 1 s ago", "Ownership generation 7, applied 7", "active trunks have no owner", "edge-1 this node", "last ownership changes (1)"} {
		if !strings.Contains(sec, want) {
			t.Errorf("cluster section lacks %q: %q", want, sec)
		}
	}
	if !strings.Contains(sec, "edge-1 this node 1") || strings.Index(sec, "edge-1") > strings.Index(sec, "edge-2") {
		t.Errorf("nodes not listed by name with their trunks: %q", sec)
	}
	c.fenced.Store(true)
	c.status.FencedSince = now.Add(-4 * time.Second)
	c.status.Fenced, c.status.FenceReason = true, `cluster.node "edge-1" is held by another process`
	root = parseDOM(t, fetchPage(t, e, "/", "").body)
	if sec := root.byID("cluster").textContent(); !strings.Contains(sec, "fenced since 4 s ago") ||
		!strings.Contains(sec, `Reason: cluster.node "edge-1" is held by another process`) {
		t.Errorf("fenced node: %q", sec)
	}
	summary := root.all(func(n *domNode) bool { return n.hasClass("cards") })[0].textContent()
	if !strings.Contains(summary, "Cluster node edge-1 fenced: not registering, writes refused") {
		t.Errorf("summary %q", summary)
	}
}
