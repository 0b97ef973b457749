package api

import (
	"fmt"
	"strconv"
	"time"
)

// TrunkState is what the status page shows of one trunk's live SIP state
// (cmd/trunkd fills it from sipcheck.State). It never holds a password.
type TrunkState struct {
	Target       string   // where requests go now
	Targets      []string // failover order
	Registration RegistrationState
	Ping         PingState
}

// RegistrationState is the outcome of a trunk's registration checks.
type RegistrationState struct {
	State               string // registered, rejected, failing, unregistered, off
	Mode                string // query or bind
	LastCode            int    // 0: no answer
	LastReason          string
	LastCheck           time.Time // zero: not checked yet
	ConsecutiveFailures int
	RTT                 time.Duration // 0: unknown
	Bindings            int           // contacts the registrar listed in its last 200
	BindingsSeen        time.Time     // zero: no 200 yet
	ExpiresAt           time.Time     // the prober's own binding ends (bind mode); zero: none
	// EngineBinding is "missing" when the credentials work but the
	// registrar lists no binding of the SIP engine, "present", or ""
	// (unknown).
	EngineBinding string
}

// PingState is the outcome of a trunk's pings.
type PingState struct {
	State               string // up, down, unknown, off
	Mode                string // options, rn or none
	LastCode            int    // 0: no answer
	LastReason          string
	LastCheck           time.Time
	RTT                 time.Duration
	ConsecutiveFailures int
}

// ProberSummary is the prober's line on the status page.
type ProberSummary struct {
	Listen, Advertise, RegisterMode string
	Trunks, Pending                 int
	TrunkRegex                      string // probe.trunk_regex; "": every active trunk
}

// fill sets the row's registration, ping and target cells.
func (st TrunkState) fill(row *trunkRow, now time.Time) {
	row.Target = st.Target
	switch {
	case len(st.Targets) > 0 && st.Target != "" && st.Target != st.Targets[0]:
		row.FailedOver, row.Failover = true, st.Targets
	case len(st.Targets) > 1:
		row.Failover = st.Targets[1:]
	}
	r := st.Registration
	row.Reg = stateCell{State: r.State, Class: stateClass(r.State), Answer: answer(r.LastCode, r.LastReason),
		Mode: r.Mode, RTT: rtt(r.RTT), Failures: r.ConsecutiveFailures, Checked: at(now, r.LastCheck)}
	row.Reg.Expiry = r.expiry(now)
	row.NoEngineBinding = r.EngineBinding == "missing"
	p := st.Ping
	row.Ping = stateCell{State: p.State, Class: stateClass(p.State), Answer: answer(p.LastCode, p.LastReason),
		Mode: p.Mode, RTT: rtt(p.RTT), Failures: p.ConsecutiveFailures, Checked: at(now, p.LastCheck)}
}

// expiry describes how long the registration holds: the prober's own
// binding in bind mode, else the bindings the registrar listed.
func (r RegistrationState) expiry(now time.Time) string {
	if !r.ExpiresAt.IsZero() {
		if r.ExpiresAt.After(now) {
			return "expires in " + span(r.ExpiresAt.Sub(now))
		}
		return "expired " + span(now.Sub(r.ExpiresAt)) + " ago"
	}
	if r.BindingsSeen.IsZero() {
		return ""
	}
	switch r.Bindings {
	case 0:
		return "no binding listed"
	case 1:
		return "1 binding"
	default:
		return strconv.Itoa(r.Bindings) + " bindings"
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
func answer(code int, reason string) string {
	switch {
	case code != 0 && reason != "":
		return strconv.Itoa(code) + " " + reason
	case code != 0:
		return strconv.Itoa(code)
	default:
		return reason
	}
}

// rtt formats a round-trip time in milliseconds; 0 is unknown.
func rtt(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	ms := d.Seconds() * 1000
	if ms < 10 {
		return fmt.Sprintf("%.2f\u00a0ms", ms)
	}
	if ms < 100 {
		return fmt.Sprintf("%.1f\u00a0ms", ms)
	}
	return fmt.Sprintf("%.0f\u00a0ms", ms)
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
