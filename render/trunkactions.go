package render

import "regexp"

// Per-trunk action kinds (the action label of
// trunkd_render_trunk_action_failures_total).
const (
	ActionAdd    = "add"
	ActionChange = "change"
	ActionRemove = "remove"
)

var actionKinds = []string{ActionAdd, ActionChange, ActionRemove}

// DefaultTrunkActionsMaxShare is the largest share of a target's trunks
// one apply may touch and still use per-trunk actions.
const DefaultTrunkActionsMaxShare = 0.2

// trunkActions is a target's per-trunk action configuration.
type trunkActions struct {
	add, change, remove string
	maxShare            float64
	failRe              *regexp.Regexp // output that means failure (as for reload_cmd)
	env                 []string       // TRUNKD_VAR_<NAME> for each of the target's vars
}

// enabled reports whether any per-trunk action is configured.
func (a *trunkActions) enabled() bool { return a.add != "" || a.change != "" || a.remove != "" }

// cmd is the command of one kind of action.
func (a *trunkActions) cmd(kind string) string {
	switch kind {
	case ActionAdd:
		return a.add
	case ActionChange:
		return a.change
	}
	return a.remove
}
