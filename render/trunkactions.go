package render

import "strings"

// Per-trunk action kinds (the action label of
// trunkd_render_trunk_action_failures_total).
const (
	ActionAdd    = "add"
	ActionChange = "change"
	ActionRemove = "remove"
)

var actionKinds = []string{ActionAdd, ActionChange, ActionRemove}

// trunkAction is one per-trunk action to run.
type trunkAction struct {
	code string
	kind string
}

// byCode compares a's trunk code with code.
func byCode(a trunkAction, code string) int { return strings.Compare(a.code, code) }

// DefaultTrunkActionsMaxShare is the largest share of a target's trunks
// one apply may touch and still use per-trunk actions.
const DefaultTrunkActionsMaxShare = 0.2

// trunkActions is a target's per-trunk action configuration. Output
// that matches the target's failure pattern (as for reload_cmd) fails an
// action.
type trunkActions struct {
	cmds     map[string]string // action kind → its command; only the kinds configured
	maxShare float64
	env      []string // TRUNKD_VAR_<NAME> for each of the target's vars
}

// enabled reports whether any per-trunk action is configured.
func (a *trunkActions) enabled() bool { return len(a.cmds) > 0 }
