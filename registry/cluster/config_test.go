package cluster

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConfigCheck: defaults are filled and every problem names its key.
func TestConfigCheck(t *testing.T) {
	ok := Config{Node: "a", Group: -1, Endpoints: []string{"http://127.0.0.1:2379"}}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	if ok.Prefix != DefaultPrefix || ok.LeaseTTL != 3*time.Second || ok.FenceMargin != time.Second {
		t.Errorf("defaults: %+v", ok)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoints: []string{"http://e:1"}}, "cluster.node: missing"},
		{Config{Node: "a/b", Endpoints: []string{"http://e:1"}}, "cluster.node: \"a/b\""},
		{Config{Node: "a"}, "cluster.etcd.endpoints: missing"},
		{Config{Node: "a", Endpoints: []string{"e:1"}}, "cluster.etcd.endpoints[0]"},
		{Config{Node: "a", Endpoints: []string{"http://e:1"}, LeaseTTL: 1500 * time.Millisecond}, "cluster.lease_ttl"},
		{Config{Node: "a", Endpoints: []string{"http://e:1"}, FenceMargin: 2 * time.Second}, "cluster.fence_margin"},
		{Config{Node: "a", Endpoints: []string{"http://e:1"}, CertFile: "c.pem"}, "cluster.etcd.cert_file"},
		{Config{Node: "a", Endpoints: []string{"http://e:1"}, Prefix: "/"}, "cluster.etcd.prefix"},
	} {
		err := tc.cfg.Check()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestRendezvous: the choice spreads evenly, and removing a node moves
// only the trunks it owned.
func TestRendezvous(t *testing.T) {
	nodes := []string{"n0", "n1", "n2"}
	count := map[string]int{}
	moved := 0
	for i := 0; i < 3000; i++ {
		code := "trunk-" + strings.Repeat("x", i%7) + strconv.Itoa(i)
		o := owner(code, nodes)
		count[o]++
		if o2 := owner(code, []string{"n0", "n2"}); o != "n1" && o2 != o {
			moved++
		}
	}
	for _, n := range nodes {
		if count[n] < 800 || count[n] > 1200 {
			t.Errorf("%s owns %d of 3000", n, count[n])
		}
	}
	if moved != 0 {
		t.Errorf("%d trunks of the remaining nodes moved", moved)
	}
}
