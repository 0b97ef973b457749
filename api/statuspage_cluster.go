package api

import (
	"sort"
	"strconv"
	"time"
)

// clusterView is the status page's cluster section.
type clusterView struct {
	Node        string
	Group       string // "serveridx 11" or "all trunks"
	Fenced      bool
	FencedSince when
	FenceReason string
	LastKeep    when // last acknowledged keep-alive
	Deadline    when // the node fences then without a newer one
	TTL         string
	Generation  uint64
	Applied     uint64
	Nodes       []ClusterNode
	Unowned     int // active trunks without an owner
	Changes     []changeRow
}

// changeRow is one ownership change.
type changeRow struct {
	When           when
	Code, From, To string
}

// maxChangeRows bounds the changes the page lists.
const maxChangeRows = 20

// buildCluster returns the page's cluster section and sets each trunk
// row's owner; nil without a cluster.
func (s *server) buildCluster(rows []trunkRow, now time.Time) *clusterView {
	if s.o.Cluster == nil {
		return nil
	}
	st := s.o.Cluster.ClusterStatus()
	c := &clusterView{Node: st.Node, Group: "all trunks", Fenced: st.Fenced,
		FencedSince: at(now, st.FencedSince), FenceReason: st.FenceReason, LastKeep: at(now, st.Lease.LastKeepAlive),
		Deadline: at(now, st.Lease.Deadline), TTL: strconv.FormatFloat(st.Lease.TTLSeconds, 'f', -1, 64) + " s",
		Generation: st.Generation, Applied: st.Applied, Nodes: st.Nodes}
	if st.Group >= 0 {
		c.Group = "serveridx " + strconv.Itoa(st.Group)
	}
	sort.Slice(c.Nodes, func(i, j int) bool { return c.Nodes[i].Name < c.Nodes[j].Name })
	for i, ch := range st.Changes {
		if i == maxChangeRows {
			break
		}
		c.Changes = append(c.Changes, changeRow{When: at(now, ch.Time), Code: ch.Code, From: ch.From, To: ch.To})
	}
	for i := range rows {
		row := &rows[i]
		if row.StatusClass != "ok" {
			continue
		}
		row.Owner = st.Owners[row.Code]
		row.OwnedHere = row.Owner == st.Node
		if row.Owner == "" {
			c.Unowned++
		}
	}
	return c
}

// clusterCard is the summary figure of the cluster: the node and whether
// it is fenced.
func clusterCard(c *clusterView) summaryCard {
	card := summaryCard{Label: "Cluster node", Value: c.Node, Note: strconv.Itoa(len(c.Nodes)) + " live nodes", Class: "ok"}
	switch {
	case c.Fenced:
		card.Note, card.Class = "fenced: not registering, writes refused", "bad"
	case c.Unowned > 0:
		card.Note, card.Class = strconv.Itoa(c.Unowned)+" active trunks without owner", "warn"
	}
	return card
}
