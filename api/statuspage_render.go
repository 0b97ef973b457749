package api

import (
	"math"
	"strconv"
	"time"
)

// renderStatus is the JSON form of render.Status (the "render" source).
type renderStatus struct {
	Targets []renderTarget `json:"targets"`
}

// renderTarget is the JSON form of render.TargetStatus.
type renderTarget struct {
	Name        string       `json:"name"`
	Template    string       `json:"template"`
	Output      string       `json:"output"`
	State       string       `json:"state"`
	Trunks      int          `json:"trunks"`
	LastSuccess *time.Time   `json:"last_success"`
	LastChange  *time.Time   `json:"last_change"`
	LastError   *renderError `json:"last_error"`
	HeldBack    *renderHeld  `json:"held_back"`
	NextRetry   *time.Time   `json:"next_retry"`
}

// renderError is the JSON form of render.TargetError.
type renderError struct {
	Time    time.Time `json:"time"`
	Stage   string    `json:"stage"`
	Message string    `json:"message"`
	Output  string    `json:"output"`
}

// renderHeld is the JSON form of render.HeldDrop.
type renderHeld struct {
	Since       time.Time `json:"since"`
	LiveTrunks  int       `json:"live_trunks"`
	NewTrunks   int       `json:"new_trunks"`
	Removed     int       `json:"removed"`
	RemovedList []string  `json:"removed_list"`
	Ratio       float64   `json:"ratio"`
	MaxRatio    float64   `json:"max_ratio"`
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
func targetRows(targets []renderTarget, now time.Time) []targetRow {
	rows := make([]targetRow, 0, len(targets))
	for _, t := range targets {
		row := targetRow{Name: t.Name, Template: t.Template, Output: t.Output, State: t.State,
			Class: stateClass(t.State), Trunks: t.Trunks, LastSuccess: at(now, deref(t.LastSuccess)),
			LastChange: at(now, deref(t.LastChange)), NextRetry: at(now, deref(t.NextRetry))}
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
