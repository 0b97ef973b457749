package api

// The status page's rows and cells: text already chosen and formatted,
// never an entity (so never a password). statuspage_view.go assembles the
// page from them; statuspage_state.go, statuspage_render.go and
// statuspage_cluster.go fill their parts.

// when is a time shown relative to the page's time, with the exact UTC
// time for the title attribute and the datetime of a <time> element.
type when struct{ Rel, Abs string }

// summaryCard is one figure in the page header.
type summaryCard struct {
	Label, Value, Note, Class string
}

// trunkRow is one provider's line.
type trunkRow struct {
	ID, Code, Title, File string
	Changed               when   // the last commit of File (git: section only)
	ChangedBy             string // its author; "": no history known
	Status, StatusClass   string // active / disabled / other server
	Probed                bool
	Skipped               bool // outside probe.trunk_regex: never probed
	Reg                   stateCell
	Ping                  stateCell
	Target                string
	Failover              []string // the targets after Target, or all when FailedOver
	FailedOver            bool     // Target is not the first of the failover order
	// NoEngineBinding: the credentials work but the registrar lists no
	// binding of the SIP engine (sipcheck's engine_binding "missing").
	NoEngineBinding bool
	Owner           string // the cluster node registering it; "": none or no cluster
	OwnedHere       bool   // this node registers it
}

// stateCell is a registration or ping state with its details.
type stateCell struct {
	State, Class string
	Answer       string // "200 OK"
	Mode         string
	RTT          string
	Failures     int
	Expiry       string // registration: "expires in 45 s", "2 bindings", …
	Checked      when
}
