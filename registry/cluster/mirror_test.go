package cluster

import (
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// TestReplaceKeepsListedHead: a listing taken after later writes (its
// revision above the head's) keeps the head and reports it changed; a
// listing without the head makes it gone.
func TestReplaceKeepsListedHead(t *testing.T) {
	k := keys{prefix: DefaultPrefix, group: 0}
	m := newMirror()
	kvs := []*mvccpb.KeyValue{
		{Key: []byte(k.head()), Value: []byte("abc123 n1"), ModRevision: 5},
		{Key: []byte(k.node("n1")), Value: []byte("n1"), ModRevision: 8, Lease: 7},
	}
	if !m.replace(k, kvs, 9) {
		t.Fatal("a listing with a head reported no head change")
	}
	if m.head.gone || m.head.value != "abc123 n1" || m.head.rev != 5 {
		t.Fatalf("head after the listing: %+v, want abc123 n1 at revision 5", m.head)
	}
	if !m.replace(k, kvs[1:], 12) || !m.head.gone || m.head.rev != 12 {
		t.Fatalf("head after a listing without it: %+v, want gone at revision 12", m.head)
	}
}
