package sipcheck

import "time"

// Registration states.
const (
	RegRegistered   = "registered"
	RegRejected     = "rejected"
	RegFailing      = "failing"
	RegUnregistered = "unregistered"
	RegOff          = "off"
)

// Reachability states.
const (
	Up      = "up"
	Down    = "down"
	Unknown = "unknown"
	Off     = "off"
)

// State is the live SIP state of one trunk, served by
// GET /rest/v1/uc/providers/{id}/state. It never holds the password.
type State struct {
	ID           string            `json:"id"`
	Code         string            `json:"code"`
	Target       string            `json:"target"`  // where requests go now, udp:host:port
	Targets      []string          `json:"targets"` // failover order
	Reachable    *bool             `json:"reachable"`
	Registration RegistrationState `json:"registration"`
	Ping         PingState         `json:"ping"`
}

// RegistrationState is the outcome of the trunk's registration checks.
type RegistrationState struct {
	// State is registered, rejected, failing, unregistered (not checked
	// yet, or un-registered) or off (reg 0).
	State               string     `json:"state"`
	Mode                string     `json:"mode"` // query or bind
	LastCode            *int       `json:"last_code"`
	LastReason          string     `json:"last_reason"`
	LastCheck           *time.Time `json:"last_check"`
	NextCheck           *time.Time `json:"next_check"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	RTTSeconds          *float64   `json:"rtt_seconds"`
	// Bindings are the contacts listed in the last 200, seen at BindingsSeen.
	Bindings     []Binding  `json:"bindings"`
	BindingsSeen *time.Time `json:"bindings_seen"`
	// ExpiresAt is when the prober's own binding ends (bind mode).
	ExpiresAt *time.Time `json:"expires_at"`
	// EngineBinding says whether the registrar listed a binding besides
	// the prober's own in its last 200: present, missing (the credentials
	// work but the SIP engine holds no registration) or unknown (no 200
	// yet). See the package doc for its limits.
	EngineBinding string `json:"engine_binding"`
}

// Values of RegistrationState.EngineBinding.
const (
	BindingPresent = "present"
	BindingMissing = "missing"
	BindingUnknown = "unknown"
)

// engineBindings counts the listed bindings that are not the prober's own.
func engineBindings(bs []Binding) int {
	n := 0
	for _, b := range bs {
		if !b.Own {
			n++
		}
	}
	return n
}

// engineBinding is the EngineBinding of bindings listed in a 200 (seen
// false: no 200 yet).
func engineBinding(bs []Binding, seen bool) string {
	switch {
	case !seen:
		return BindingUnknown
	case engineBindings(bs) > 0:
		return BindingPresent
	}
	return BindingMissing
}

// Binding is one contact a registrar listed for the trunk's address of record.
type Binding struct {
	Contact string `json:"contact"`
	Expires int    `json:"expires"` // seconds left when listed; -1 unknown
	Own     bool   `json:"own"`     // the prober's binding (bind mode)
}

// PingState is the outcome of the trunk's pings and its reachability.
type PingState struct {
	Mode string `json:"mode"` // options, rn or none
	// State is up, down, unknown (not enough pings yet, or CRLF over UDP)
	// or off (pingmode none).
	State                string     `json:"state"`
	Target               string     `json:"target"`
	LastCode             *int       `json:"last_code"`
	LastReason           string     `json:"last_reason"`
	LastCheck            *time.Time `json:"last_check"`
	NextCheck            *time.Time `json:"next_check"`
	RTTSeconds           *float64   `json:"rtt_seconds"`
	ConsecutiveFailures  int        `json:"consecutive_failures"`
	ConsecutiveSuccesses int        `json:"consecutive_successes"`
}

// Status is the prober's summary in /status.
type Status struct {
	Enabled      bool   `json:"enabled"`
	Listen       string `json:"listen"`
	Advertise    string `json:"advertise"`
	RegisterMode string `json:"register_mode"`
	Generation   uint64 `json:"generation"` // last snapshot applied
	Trunks       int    `json:"trunks"`
	Pending      int    `json:"pending"`               // trunks whose first checks have not all run
	TrunkRegex   string `json:"trunk_regex,omitempty"` // probe.trunk_regex: only matching codes are probed

	Registration map[string]int `json:"registration"` // trunks per registration state
	Reachability map[string]int `json:"reachability"` // trunks up, down, unknown

	// OwnershipGeneration: the cluster ownership the bindings follow
	// (Prober.SubscribeAppliedOwnership); absent without a cluster.
	OwnershipGeneration uint64 `json:"ownership_generation,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func intPtr(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func secondsPtr(d time.Duration, ok bool) *float64 {
	if !ok {
		return nil
	}
	s := d.Seconds()
	return &s
}
