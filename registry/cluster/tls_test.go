package cluster

import (
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry/cluster/etcdtest"
)

// TestTLS: nodes given the CA and a client certificate join a cluster of
// https members that require client certificates; a node without the
// client certificate never joins (stays fenced, owns nothing).
func TestTLS(t *testing.T) {
	etcd := etcdtest.StartTLS(t, 3)
	reg := providers(t, 30)
	codes := codesOf(reg)
	tlsCfg := func() Config {
		c := oneGroup()
		c.CAFile, c.CertFile, c.KeyFile = etcd.TLS.CA, etcd.TLS.ClientCert, etcd.TLS.ClientKey
		return c
	}
	nodes := []*node{startNode(t, "n0", etcd.Endpoints(), reg, tlsCfg()), startNode(t, "n1", etcd.Endpoints(), reg, tlsCfg())}
	waitFor(t, 30*time.Second, "two TLS nodes settled", func() bool { return settled(nodes, codes) })

	noCert := oneGroup()
	noCert.CAFile = etcd.TLS.CA
	stranger := startNode(t, "stranger", etcd.Endpoints(), reg, noCert)
	waitFor(t, 10*time.Second, "the stranger's grants fail", func() bool {
		return stranger.metric(t, "trunkd_cluster_keepalive_failures_total") >= 3
	})
	if v := stranger.c.View(); !v.Fenced() || len(v.Owned()) > 0 || v.Lease().ID != 0 {
		t.Errorf("node without a client certificate: fenced %v, owns %d, lease %x", v.Fenced(), len(v.Owned()), v.Lease().ID)
	}
	if got := nodes[0].c.View().Nodes(); len(got) != 2 {
		t.Errorf("nodes %v: the stranger must not be a member", got)
	}
}
