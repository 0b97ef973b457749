package api

import (
	"fmt"
	"strconv"
	"time"
)

// The status page reads the prober's and the renderer's state through
// their JSON form (the api imports neither package). These structs hold
// the fields the page shows; statuspage_test.go checks against the real
// types that every one of them exists under the same name.

// liveState is the JSON form of one trunk's sipcheck.State.
type liveState struct {
	Target       string   `json:"target"`
	Targets      []string `json:"targets"`
	Registration liveReg  `json:"registration"`
	Ping         livePing `json:"ping"`
}

// liveReg is the JSON form of sipcheck.RegistrationState.
type liveReg struct {
	State               string        `json:"state"`
	Mode                string        `json:"mode"`
	LastCode            *int          `json:"last_code"`
	LastReason          string        `json:"last_reason"`
	LastCheck           *time.Time    `json:"last_check"`
	ConsecutiveFailures int           `json:"consecutive_failures"`
	RTTSeconds          *float64      `json:"rtt_seconds"`
	Bindings            []liveBinding `json:"bindings"`
	BindingsSeen        *time.Time    `json:"bindings_seen"`
	ExpiresAt           *time.Time    `json:"expires_at"`
}

// liveBinding is the JSON form of sipcheck.Binding.
type liveBinding struct {
	Expires int  `json:"expires"`
	Own     bool `json:"own"`
}

// livePing is the JSON form of sipcheck.PingState.
type livePing struct {
	Mode                string     `json:"mode"`
	State               string     `json:"state"`
	LastCode            *int       `json:"last_code"`
	LastReason          string     `json:"last_reason"`
	LastCheck           *time.Time `json:"last_check"`
	RTTSeconds          *float64   `json:"rtt_seconds"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
}

// probeStatus is the JSON form of sipcheck.Status (the "probe" source).
type probeStatus struct {
	Listen       string `json:"listen"`
	Advertise    string `json:"advertise"`
	RegisterMode string `json:"register_mode"`
	Trunks       int    `json:"trunks"`
	Pending      int    `json:"pending"`
	TrunkRegex   string `json:"trunk_regex"`
}

// fill sets the row's registration, ping and target cells.
func (st liveState) fill(row *trunkRow, now time.Time) {
	row.Target = st.Target
	switch {
	case len(st.Targets) > 0 && st.Target != "" && st.Target != st.Targets[0]:
		row.FailedOver, row.Failover = true, st.Targets
	case len(st.Targets) > 1:
		row.Failover = st.Targets[1:]
	}
	r := st.Registration
	row.Reg = stateCell{State: r.State, Class: stateClass(r.State), Answer: answer(r.LastCode, r.LastReason),
		Mode: r.Mode, RTT: rtt(r.RTTSeconds), Failures: r.ConsecutiveFailures, Checked: at(now, deref(r.LastCheck))}
	row.Reg.Expiry = r.expiry(now)
	p := st.Ping
	row.Ping = stateCell{State: p.State, Class: stateClass(p.State), Answer: answer(p.LastCode, p.LastReason),
		Mode: p.Mode, RTT: rtt(p.RTTSeconds), Failures: p.ConsecutiveFailures, Checked: at(now, deref(p.LastCheck))}
}

// expiry describes how long the registration holds: the prober's own
// binding in bind mode, else the bindings the registrar listed.
func (r liveReg) expiry(now time.Time) string {
	if r.ExpiresAt != nil {
		if r.ExpiresAt.After(now) {
			return "expires in " + span(r.ExpiresAt.Sub(now))
		}
		return "expired " + span(now.Sub(*r.ExpiresAt)) + " ago"
	}
	if r.BindingsSeen == nil {
		return ""
	}
	switch n := len(r.Bindings); n {
	case 0:
		return "no binding listed"
	case 1:
		return "1 binding"
	default:
		return strconv.Itoa(n) + " bindings"
	}
}

// stateClass maps a state to its colour class.
func stateClass(state string) string {
	switch state {
	case "registered", "up", "ok":
		return "ok"
	case "rejected", "failing", "down", "failed":
		return "bad"
	case "off", "":
		return "off"
	default: // unregistered, unknown, pending, held_back, …
		return "warn"
	}
}

// answer formats a SIP answer: "200 OK", "408 Request Timeout", or the
// reason alone when no answer came ("timeout").
func answer(code *int, reason string) string {
	switch {
	case code != nil && reason != "":
		return strconv.Itoa(*code) + " " + reason
	case code != nil:
		return strconv.Itoa(*code)
	default:
		return reason
	}
}

// rtt formats a round-trip time in milliseconds.
func rtt(seconds *float64) string {
	if seconds == nil {
		return ""
	}
	ms := *seconds * 1000
	if ms < 10 {
		return fmt.Sprintf("%.2f\u00a0ms", ms)
	}
	if ms < 100 {
		return fmt.Sprintf("%.1f\u00a0ms", ms)
	}
	return fmt.Sprintf("%.0f\u00a0ms", ms)
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// at describes t relative to now ("12 s ago", "in 3 min"); zero is "".
func at(now, t time.Time) when {
	if t.IsZero() {
		return when{}
	}
	w := when{Abs: t.UTC().Format(time.RFC3339)}
	switch d := now.Sub(t); {
	case d < time.Second && d > -time.Second:
		w.Rel = "now"
	case d > 0:
		w.Rel = span(d) + " ago"
	default:
		w.Rel = "in " + span(-d)
	}
	return w
}

// span formats a duration in its largest whole unit, or two for hours,
// with a no-break space before the unit.
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "\u00a0s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "\u00a0min"
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + "\u00a0h"
		}
		return fmt.Sprintf("%d\u00a0h %d\u00a0min", h, m)
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + "\u00a0d"
	}
}
