package etcdtest

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestClusterAndProxy: a 3-member cluster serves the v3 client (lease,
// keep-alive, nested transactions as registry/cluster uses them), survives
// the leader's kill, and the proxy forwards, blackholes and drops.
func TestClusterAndProxy(t *testing.T) {
	c := Start(t, 3)
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	lease, err := cl.Grant(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.KeepAliveOnce(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	sub := clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision("/t/a"), "=", 0)},
		[]clientv3.Op{clientv3.OpPut("/t/a", "n1", clientv3.WithLease(lease.ID))},
		[]clientv3.Op{clientv3.OpGet("/t/a")})
	resp, err := cl.Txn(ctx).Then(sub).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Responses[0].GetResponseTxn().Succeeded {
		t.Fatal("nested claim did not succeed")
	}

	p := NewProxy(t, c.Members[0].ClientURL)
	pc, err := clientv3.New(clientv3.Config{Endpoints: []string{p.URL()}, DialTimeout: 2 * time.Second,
		Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.Get(ctx, "/t/a"); err != nil {
		t.Fatalf("through forwarding proxy: %v", err)
	}
	for _, m := range []Mode{Blackhole, Drop} {
		p.Set(m)
		gctx, gcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := pc.Get(gctx, "/t/a")
		gcancel()
		if err == nil {
			t.Errorf("get through %s proxy succeeded", m)
		}
		p.Set(Forward)
		if err := retry(ctx, func(ctx context.Context) error { _, err := pc.Get(ctx, "/t/a"); return err }); err != nil {
			t.Fatalf("after %s, forward again: %v", m, err)
		}
	}

	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader.Kill()
	if err := c.WaitWritable(ctx); err != nil {
		t.Fatalf("after killing leader %s: %v", leader.Name, err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
}

// retry calls f with a short deadline until it succeeds or ctx ends.
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		err := f(fctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
	}
}
