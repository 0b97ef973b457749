package cluster

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDuplicateNodeName: a second node configured with the name of a
// running one stays fenced, owns nothing and reports the conflict (View,
// metric), while the first keeps every trunk; once the first stops without
// revoking its lease (a crash, as far as etcd can tell), the second joins
// only after that lease could have expired and takes every trunk over.
func TestDuplicateNodeName(t *testing.T) {
	etcd := startEtcd(t)
	reg := providers(t, 30)
	codes := codesOf(reg)
	first := startNode(t, "n0", etcd.Endpoints(), reg, oneGroup())
	waitFor(t, 30*time.Second, "the first n0 owns every trunk", func() bool { return settled([]*node{first}, codes) })
	second := startNode(t, "n0", etcd.Endpoints(), reg, oneGroup())
	waitFor(t, 30*time.Second, "the second n0 reports the conflict", func() bool { return second.last().Conflict() != nil })
	v := second.last()
	err := v.Conflict()
	held := first.c.Lease().ID
	for _, want := range []string{`cluster.node "n0"`, "/nodes/any/n0", "pid=", fmt.Sprintf("lease %x", held)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("conflict error lacks %q: %v", want, err)
		}
	}
	if !errors.Is(err, ErrNameTaken) || !v.Fenced() || v.FenceReason() != err.Error() {
		t.Errorf("second n0: fenced %v, reason %q, error %v", v.Fenced(), v.FenceReason(), err)
	}
	if got := second.metric(t, "trunkd_cluster_node_name_conflict"); got != 1 {
		t.Errorf("trunkd_cluster_node_name_conflict = %v on the second n0, want 1", got)
	}
	if got := first.metric(t, "trunkd_cluster_node_name_conflict"); got != 0 {
		t.Errorf("trunkd_cluster_node_name_conflict = %v on the first n0, want 0", got)
	}
	if !settled([]*node{first}, codes) || first.last().Conflict() != nil {
		t.Errorf("the first n0 lost its trunks or its name to the second")
	}

	// The first stops without revoking its lease: the second may join only
	// once that lease could have expired, and it then owns every trunk.
	lease := first.c.Lease()
	margin := first.c.cfg.FenceMargin
	first.stop()
	stopped := time.Now()
	waitFor(t, 30*time.Second, "the second n0 owns every trunk", func() bool { return settled([]*node{second}, codes) })
	var joined time.Time
	for _, s := range second.history() {
		if len(s.v.Owned()) > 0 && (joined.IsZero() || s.at.Before(joined)) {
			joined = s.at
		}
	}
	t.Logf("the first n0 stopped; the second took over after %v (its lease's deadline + margin was %v after the stop)",
		joined.Sub(stopped).Round(time.Millisecond), lease.Deadline.Add(margin).Sub(stopped).Round(time.Millisecond))
	if earliest := lease.Deadline.Add(margin); joined.Before(earliest) {
		t.Errorf("the second n0 owned trunks at %v, before the first's lease could expire (%v)", joined, earliest)
	}
	for _, s := range second.history() {
		if s.at.Before(stopped) && len(s.v.Owned()) > 0 {
			t.Errorf("the second n0 owned %v while the first ran", s.v.Owned())
		}
	}
	if v := second.last(); v.Conflict() != nil || v.FenceReason() != "" {
		t.Errorf("after the takeover: conflict %v, fence reason %q", v.Conflict(), v.FenceReason())
	}
}
