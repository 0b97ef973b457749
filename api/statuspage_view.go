package api

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// statusPageData is what the status page template shows. It holds text
// already chosen and formatted: never an entity, so never a password.
type statusPageData struct {
	Version     string
	Generated   when
	Refresh     int // seconds; 0: no automatic reload
	Dir         string
	Generation  uint64
	LastReload  when
	Summary     []summaryCard
	Prober      *ProberSummary // nil: no prober
	ProberOff   bool           // nothing is probed
	Trunks      []trunkRow
	Invalid     []invalidRow
	InvalidN    int // files
	Render      []targetRow
	RenderKnown bool         // a renderer runs
	Cluster     *clusterView // nil: a single node
}

// invalidRow is one problem of an invalid file.
type invalidRow struct {
	File     string
	KeptLast bool
	First    bool // the file's first problem
	Line     string
	Field    string
	Problem  string
}

// buildStatusPage gathers the page's content at now.
func (s *server) buildStatusPage(now time.Time) statusPageData {
	snap := s.reg.Snapshot()
	d := statusPageData{
		Version:    s.o.Version,
		Generated:  at(now, now),
		Dir:        s.reg.Dir(),
		Generation: snap.Generation(),
		LastReload: at(now, s.reg.LastReload()),
		ProberOff:  s.o.Prober == nil,
	}
	var regex string
	if s.o.Prober != nil {
		sum := s.o.Prober.Summary()
		d.Prober, regex = &sum, sum.TrunkRegex
	}
	d.Trunks = s.trunkRows(snap, now, regex)
	s.fillChanges(d.Trunks, now)
	d.Invalid, d.InvalidN = invalidRows(snap.Invalid())
	if s.o.Render != nil {
		d.RenderKnown = true
		d.Render = targetRows(s.o.Render.RenderTargets(), now)
	}
	d.Cluster = s.buildCluster(d.Trunks, now)
	d.Summary = summarise(d)
	return d
}

// trunkRows lists every valid provider, sorted by code, with its state.
// Trunks outside the prober's trunk_regex are marked as skipped.
func (s *server) trunkRows(snap *registry.Snapshot, now time.Time, trunkRegex string) []trunkRow {
	rows := make([]trunkRow, 0, snap.Len())
	skip, _ := regexp.Compile(trunkRegex) // nil when unset or unreadable
	for _, p := range snap.Providers() {
		row := trunkRow{ID: p.ID, Code: p.Code, Title: p.Opts.Title, File: snap.FileOf(p.ID)}
		row.Status, row.StatusClass = s.activity(p)
		row.Skipped = trunkRegex != "" && skip != nil && !skip.MatchString(p.Code)
		if s.o.Prober != nil {
			if st, ok := s.o.Prober.TrunkState(p.ID); ok {
				row.Probed = true
				st.fill(&row, now)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// fillChanges adds each provider file's last commit and author, when
// trunkd follows a git remote; a failure leaves them out (it is logged).
func (s *server) fillChanges(rows []trunkRow, now time.Time) {
	if s.o.Changes == nil {
		return
	}
	last, err := s.o.Changes.LastChanges(context.Background())
	if err != nil {
		s.log.Warn("status page: cannot read the providers' last changes from git", "error", err)
		return
	}
	for i := range rows {
		if c, ok := last[rows[i].File]; ok {
			rows[i].Changed, rows[i].ChangedBy = at(now, c.Time), c.Author
		}
	}
}

// activity says whether the provider is in force on this server.
func (s *server) activity(p *registry.Provider) (string, string) {
	switch {
	case p.Active(s.o.ServerIndex):
		return "active", "ok"
	case p.Enabled != 1:
		return "disabled", "off"
	default:
		return "serveridx " + strconv.Itoa(p.ServerIdx), "off"
	}
}

// invalidRows flattens the invalid files into one row per problem.
func invalidRows(files []registry.FileProblems) ([]invalidRow, int) {
	var rows []invalidRow
	for _, f := range files {
		probs := f.Problems
		if len(probs) == 0 {
			probs = registry.Problems{{Msg: "invalid"}}
		}
		for i, p := range probs {
			row := invalidRow{File: f.File, KeptLast: f.KeptLast, First: i == 0, Field: p.Field, Problem: p.Msg}
			if p.Line > 0 {
				row.Line = strconv.Itoa(p.Line)
			}
			rows = append(rows, row)
		}
	}
	return rows, len(files)
}

// summarise computes the header figures.
func summarise(d statusPageData) []summaryCard {
	var active, regOK, regAll, pingOK, pingAll int
	for _, t := range d.Trunks {
		if t.StatusClass == "ok" {
			active++
		}
		if t.Reg.State != "" && t.Reg.State != "off" {
			regAll++
			if t.Reg.State == "registered" {
				regOK++
			}
		}
		if t.Ping.State != "" && t.Ping.State != "off" {
			pingAll++
			if t.Ping.State == "up" {
				pingOK++
			}
		}
	}
	cards := []summaryCard{
		{Label: "Trunks", Value: strconv.Itoa(len(d.Trunks)), Note: strconv.Itoa(active) + " active", Class: "info"},
		ratioCard("Registered", regOK, regAll, d.ProberOff),
		ratioCard("Reachable", pingOK, pingAll, d.ProberOff),
		{Label: "Invalid files", Value: strconv.Itoa(d.InvalidN), Class: pick(d.InvalidN == 0, "ok", "bad")},
	}
	if d.RenderKnown {
		ok := 0
		for _, t := range d.Render {
			if t.State == "ok" {
				ok++
			}
		}
		c := ratioCard("Render targets ok", ok, len(d.Render), false)
		cards = append(cards, c)
	}
	if d.Cluster != nil {
		cards = append(cards, clusterCard(d.Cluster))
	}
	return cards
}

func ratioCard(label string, ok, all int, off bool) summaryCard {
	c := summaryCard{Label: label, Value: strconv.Itoa(ok) + "/" + strconv.Itoa(all)}
	switch {
	case off:
		c.Value, c.Note, c.Class = "–", "prober off", "off"
	case all == 0:
		c.Class = "off"
	case ok == all:
		c.Class = "ok"
	default:
		c.Class = "bad"
	}
	return c
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
