package api

import (
	"math"
	"strconv"
	"time"
)

// RenderTarget is what the status page shows of one render target (cmd/trunkd
// fills it from render.TargetStatus). It never holds a password.
type RenderTarget struct {
	Name, Template, Output string
	State                  string // ok, failed, held_back, pending, …
	Trunks                 int
	LastSuccess            time.Time // zero: never
	LastChange             time.Time
	NextRetry              time.Time
	LastError              *RenderError // nil: none
	HeldBack               *HeldRender  // nil: nothing held
	TrunkErrors            []TrunkRenderError
}

// RenderError is the last failure of a target.
type RenderError struct {
	Time                   time.Time
	Stage, Message, Output string
}

// HeldRender is a render the drop guard holds back.
type HeldRender struct {
	Since                          time.Time
	LiveTrunks, NewTrunks, Removed int
	RemovedList                    []string
	Ratio, MaxRatio                float64
}

// TrunkRenderError is one trunk the target's template failed for.
type TrunkRenderError struct {
	Code, Reason string
	Kept         bool // the file keeps the trunk's last good output
}

// targetRow is one render target's line.
type targetRow struct {
	Name, Template, Output string
	State, Class           string
	Trunks                 int
	LastSuccess            when
	LastChange             when
	NextRetry              when
	Error                  *targetErrorCell
	Held                   *heldCell
	TrunkErrors            []TrunkRenderError
}

// targetErrorCell is the last failure of a target.
type targetErrorCell struct {
	Stage, Message, Output string
	Time                   when
}

// heldCell is a render the drop guard holds back.
type heldCell struct {
	Since              when
	Live, New, Removed int
	Ratio, MaxRatio    string
	RemovedList        []string
	More               int // removed trunks not in RemovedList
	ConfirmPath        string
}

// targetRows formats the render targets in the renderer's order.
func targetRows(targets []RenderTarget, now time.Time) []targetRow {
	rows := make([]targetRow, 0, len(targets))
	for _, t := range targets {
		row := targetRow{Name: t.Name, Template: t.Template, Output: t.Output, State: t.State,
			Class: stateClass(t.State), Trunks: t.Trunks, LastSuccess: at(now, t.LastSuccess),
			LastChange: at(now, t.LastChange), NextRetry: at(now, t.NextRetry), TrunkErrors: t.TrunkErrors}
		if e := t.LastError; e != nil {
			row.Error = &targetErrorCell{Stage: e.Stage, Message: e.Message, Output: e.Output, Time: at(now, e.Time)}
		}
		if h := t.HeldBack; h != nil {
			row.Held = &heldCell{Since: at(now, h.Since), Live: h.LiveTrunks, New: h.NewTrunks, Removed: h.Removed,
				Ratio: percent(h.Ratio), MaxRatio: percent(h.MaxRatio), RemovedList: h.RemovedList,
				More: h.Removed - len(h.RemovedList), ConfirmPath: "/rest/v1/render/" + t.Name + "/confirm"}
		}
		rows = append(rows, row)
	}
	return rows
}

// percent formats a ratio (0.25) as "25 %".
func percent(r float64) string {
	return strconv.FormatFloat(math.Round(r*1000)/10, 'f', -1, 64) + "\u00a0%"
}
