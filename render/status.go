package render

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Target states in TargetStatus.State.
const (
	StatePending  = "pending"   // not rendered yet
	StateOK       = "ok"        // the live file is the render of the latest snapshot
	StateFailed   = "failed"    // the last attempt failed; the live file is the previous one
	StateHeldBack = "held_back" // the drop guard holds a render back
)

// Failure stages (the stage label of trunkd_render_failures_total).
const (
	StageTemplate = "template" // the template or the provider data
	StageWrite    = "write"    // reading the live file, writing the candidate, renaming
	StageCheck    = "check"    // check_cmd rejected the candidate
	StageReload   = "reload"   // reload_cmd failed (the file was rolled back)
)

var stages = []string{StageTemplate, StageWrite, StageCheck, StageReload}

// ErrUnknownTarget is returned by ConfirmDrop for a target name that is not
// configured (the API answers 404).
var ErrUnknownTarget = errors.New("unknown render target")

// ErrNotHeld is returned by ConfirmDrop when the target holds nothing back.
var ErrNotHeld = errors.New("render target holds no drop back")

// ErrTrunkFailed is wrapped by RenderOnce's error for each trunk the
// template failed for (the other trunks were applied).
var ErrTrunkFailed = errors.New("render failed for a trunk")

// ErrTrunkActionFailed is wrapped by RenderOnce's error for each trunk
// whose per-trunk action failed (the file and the other trunks were
// applied).
var ErrTrunkActionFailed = errors.New("per-trunk action failed")

// ErrHeldBack is wrapped by RenderOnce's error for a target whose render
// the drop guard held back.
var ErrHeldBack = errors.New("held back by the drop guard")

// Status is the state of every render target (served under "render" in
// /status).
type Status struct {
	Targets []TargetStatus `json:"targets"`
}

// TargetStatus is the state of one render target. It never holds a password.
type TargetStatus struct {
	Name        string       `json:"name"`
	Template    string       `json:"template"`
	Output      string       `json:"output"`
	State       string       `json:"state"`
	Generation  uint64       `json:"generation"` // registry snapshot of the last attempt
	Trunks      int          `json:"trunks"`     // active trunks in the last successful render
	LastSuccess *time.Time   `json:"last_success,omitempty"`
	LastChange  *time.Time   `json:"last_change,omitempty"` // the live file was last replaced
	LastError   *TargetError `json:"last_error,omitempty"`
	HeldBack    *HeldDrop    `json:"held_back,omitempty"`
	NextRetry   *time.Time   `json:"next_retry,omitempty"`
	// TrunkErrors lists the trunks the last render could not render: each
	// keeps its last good output in the file, or is left out when it has
	// none. The other trunks are applied.
	TrunkErrors []TrunkError `json:"trunk_errors,omitempty"`
	// TrunkActionErrors lists the trunks whose per-trunk action failed in
	// the last apply; each is retried with backoff, the other trunks are
	// applied.
	TrunkActionErrors []TrunkActionError `json:"trunk_action_errors,omitempty"`
	// OwnershipGeneration is the generation of the last ownership the
	// live file reflects (a cluster; see Renderer.SubscribeAppliedOwnership).
	OwnershipGeneration uint64 `json:"ownership_generation,omitempty"`
	// Fence is the last fence or unfence action (targets with fence_cmd).
	Fence *FenceStatus `json:"fence,omitempty"`
}

// TrunkError is one trunk the template failed for. Reason never holds a
// password.
type TrunkError struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
	// Kept: the file holds the trunk's last good output; false: the trunk
	// is left out of the file.
	Kept bool `json:"kept"`
}

// TargetError describes the last failure of a target.
type TargetError struct {
	Time    time.Time `json:"time"`
	Stage   string    `json:"stage"`
	Message string    `json:"message"`
	Output  string    `json:"output,omitempty"` // tail of the command output, passwords masked
}

// HeldDrop describes a render the drop guard holds back.
type HeldDrop struct {
	Since       time.Time `json:"since"`
	LiveTrunks  int       `json:"live_trunks"`
	NewTrunks   int       `json:"new_trunks"`
	Removed     int       `json:"removed"`
	RemovedList []string  `json:"removed_list"` // at most 50 names
	Ratio       float64   `json:"ratio"`
	MaxRatio    float64   `json:"max_ratio"`

	removed []string // every removed name, for the confirmation
}

// maxRemovedList bounds HeldDrop.RemovedList.
const maxRemovedList = 50

// Status returns a copy of every target's state.
func (r *Renderer) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Status{Targets: make([]TargetStatus, len(r.targets))}
	for i, t := range r.targets {
		st := t.st
		st.LastError, st.Fence, st.HeldBack = clone(st.LastError), clone(st.Fence), clone(st.HeldBack)
		st.TrunkErrors = slices.Clone(st.TrunkErrors)
		st.TrunkActionErrors = slices.Clone(st.TrunkActionErrors)
		if st.HeldBack != nil {
			st.HeldBack.removed = nil
		}
		s.Targets[i] = st
	}
	return s
}

// ConfirmDrop releases the render that the drop guard holds back for the
// named target: the removals it lists are applied at once (the target
// renders the latest snapshot; a render removing further trunks is held
// again). It returns ErrUnknownTarget or ErrNotHeld (wrapped).
func (r *Renderer) ConfirmDrop(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.target(name)
	if t == nil {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, name)
	}
	if t.st.HeldBack == nil {
		return fmt.Errorf("%w: %q", ErrNotHeld, name)
	}
	t.confirmed = map[string]bool{}
	for _, n := range t.st.HeldBack.removed {
		t.confirmed[n] = true
	}
	t.due = r.now()
	r.log.Info("render drop confirmed; applying it", "target", name, "removed", t.st.HeldBack.Removed)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// clone is a copy of *p, nil for nil.
func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func (r *Renderer) target(name string) *target {
	for _, t := range r.targets {
		if t.cfg.Name == name {
			return t
		}
	}
	return nil
}

// TrunkActionError is a trunk whose per-trunk action failed; it is
// retried with backoff. Message and Output never hold a password.
type TrunkActionError struct {
	Code    string    `json:"code"`
	Action  string    `json:"action"` // add, change or remove
	Since   time.Time `json:"since"`  // first failure of this action for this trunk
	Message string    `json:"message"`
	Output  string    `json:"output,omitempty"` // tail of the command output
}

// FenceStatus is the last fence or unfence action of a target. Output is
// the engine CLI's answer to a command without trunk data.
type FenceStatus struct {
	// Fenced: the engine may be fenced (the fence action ran, or a
	// restart in a cluster left it unknown) and no unfence succeeded since.
	Fenced bool      `json:"fenced"`
	Action string    `json:"action"` // fence or unfence
	Time   time.Time `json:"time"`
	Error  string    `json:"error,omitempty"`
	Output string    `json:"output,omitempty"` // tail of the command output
}
