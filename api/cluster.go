package api

import (
	"errors"
	"net/http"
	"time"
)

// Cluster is the node's place in a trunkd cluster (the cluster: section;
// cmd/trunkd adapts registry/cluster to it). Without one the node is
// alone: it is ready once the providers are loaded and takes every write.
type Cluster interface {
	// Fenced tells that the node could not prove its etcd lease alive and
	// stopped registering: /readyz answers 503 and writes are refused
	// until it holds a lease again.
	Fenced() bool
	// ClusterStatus is the cluster's part of /status and the status page.
	ClusterStatus() ClusterStatus
}

// ClusterStatus is what /status ("cluster") and the status page show of
// the cluster. It holds names and times only.
type ClusterStatus struct {
	Node   string `json:"node"`
	Group  int    `json:"group"` // server_index of the node's group; -1: none configured
	Fenced bool   `json:"fenced"`
	// FencedSince is when the node fenced; zero while it is not fenced.
	FencedSince time.Time `json:"fenced_since,omitzero"`
	// FenceReason says why the node is fenced ("" while it is not): not
	// joined yet, its lease not proven alive, or another process holding
	// its cluster.node (the error names both).
	FenceReason string      `json:"fence_reason,omitempty"`
	Lease       LeaseHealth `json:"lease"`
	// Generation is the ownership generation the node sees; Applied the
	// one its engines and prober have taken over (equal in steady state).
	Generation uint64 `json:"generation"`
	Applied    uint64 `json:"applied"`
	// Nodes are the live nodes of the group, the node itself included.
	Nodes []ClusterNode `json:"nodes"`
	// Owners maps each active trunk's code to the node that registers it;
	// an active trunk missing here has no owner yet.
	Owners map[string]string `json:"owners"`
	// Changes are the last ownership changes, newest first.
	Changes []OwnershipChange `json:"changes"`
}

// LeaseHealth is the state of the node's etcd lease.
type LeaseHealth struct {
	TTLSeconds float64 `json:"ttl_seconds"`
	// LastKeepAlive is the send time of the last keep-alive etcd
	// acknowledged; Deadline is when the node fences without a newer one.
	LastKeepAlive time.Time `json:"last_keepalive,omitzero"`
	Deadline      time.Time `json:"deadline,omitzero"`
}

// ClusterNode is one live node of the group.
type ClusterNode struct {
	Name   string `json:"name"`
	Self   bool   `json:"self,omitempty"`
	Trunks int    `json:"trunks"` // trunks it owns
}

// OwnershipChange is a trunk that moved from one node to another ("" is
// no node: a new trunk, or one whose owner died).
type OwnershipChange struct {
	Time time.Time `json:"time"`
	Code string    `json:"code"`
	From string    `json:"from"`
	To   string    `json:"to"`
}

// ErrFenced refuses a write on a fenced node (503 with Retry-After):
// nothing of it is applied; another node of the cluster takes it.
var ErrFenced = errors.New("this node is fenced (it cannot prove its cluster lease alive, etcd is unreachable or without quorum); the write was not applied: retry later or on another node")

// fenced tells whether the node is a fenced cluster node.
func (s *server) fenced() bool { return s.o.Cluster != nil && s.o.Cluster.Fenced() }

// readyz answers ready once the providers are loaded (the daemon serves
// only then), and 503 while the node is fenced: a load balancer sends its
// API clients to the other nodes.
func (s *server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.fenced() {
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "fenced", "error": ErrFenced.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
