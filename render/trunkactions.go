package render

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

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

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// newTrunkActions checks the per-trunk action keys of c.
func newTrunkActions(c TargetConfig, failRe *regexp.Regexp) (trunkActions, error) {
	a := trunkActions{add: c.TrunkAddCmd, change: c.TrunkChangeCmd, remove: c.TrunkRemoveCmd,
		maxShare: c.TrunkActionsMaxShare, failRe: failRe}
	if a.maxShare == 0 {
		a.maxShare = DefaultTrunkActionsMaxShare
	}
	if a.maxShare < 0 || a.maxShare > 1 {
		return a, fmt.Errorf("trunk_actions_max_share: must be between 0 and 1, got %g", c.TrunkActionsMaxShare)
	}
	names := make([]string, 0, len(c.Vars))
	for k := range c.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if envName.MatchString(k) {
			a.env = append(a.env, "TRUNKD_VAR_"+strings.ToUpper(k)+"="+c.Vars[k])
		}
	}
	return a, nil
}
