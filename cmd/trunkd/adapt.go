package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/render"
	"github.com/trunkd/trunkd/sipcheck"
)

// renderConfirm adapts the renderer to api.DropConfirmer: an unknown
// target becomes api.ErrNoTarget (a 404).
type renderConfirm struct{ r *render.Renderer }

// ConfirmDrop releases a held render of the named target.
func (c renderConfirm) ConfirmDrop(target string) error {
	err := c.r.ConfirmDrop(target)
	if errors.Is(err, render.ErrUnknownTarget) {
		return fmt.Errorf("%w: %q", api.ErrNoTarget, target)
	}
	return err
}

// section is one component's section of /status: its own status value,
// encoded as it is.
type section struct {
	name   string
	status func() any
}

// StatusName names the section.
func (s section) StatusName() string { return s.name }

// MarshalJSON encodes the component's status.
func (s section) MarshalJSON() ([]byte, error) { return json.Marshal(s.status()) }

// proberView adapts the SIP prober to api.Prober.
type proberView struct{ p *sipcheck.Prober }

// TrunkState is the status page's view of one trunk's sipcheck.State.
func (v proberView) TrunkState(id string) (api.TrunkState, bool) {
	st, ok := v.p.State(id)
	if !ok {
		return api.TrunkState{}, false
	}
	r, p := st.Registration, st.Ping
	out := api.TrunkState{Target: st.Target, Targets: st.Targets,
		Registration: api.RegistrationState{State: r.State, Mode: r.Mode, LastCode: deref(r.LastCode), LastReason: r.LastReason,
			LastCheck: deref(r.LastCheck), ConsecutiveFailures: r.ConsecutiveFailures, RTT: seconds(r.RTTSeconds),
			Bindings: len(r.Bindings), BindingsSeen: deref(r.BindingsSeen), ExpiresAt: deref(r.ExpiresAt)},
		Ping: api.PingState{State: p.State, Mode: p.Mode, LastCode: deref(p.LastCode), LastReason: p.LastReason,
			LastCheck: deref(p.LastCheck), RTT: seconds(p.RTTSeconds), ConsecutiveFailures: p.ConsecutiveFailures}}
	if r.EngineBinding != sipcheck.BindingUnknown {
		out.Registration.EngineBinding = r.EngineBinding
	}
	return out, true
}

// ProviderState is sipcheck.State as GET …/{id}/state serves it.
func (v proberView) ProviderState(id string) (json.Marshaler, bool) {
	st, ok := v.p.State(id)
	if !ok {
		return nil, false
	}
	return jsonOf{st}, true
}

// Summary is the prober's line on the status page.
func (v proberView) Summary() api.ProberSummary {
	s := v.p.Summary()
	return api.ProberSummary{Listen: s.Listen, Advertise: s.Advertise, RegisterMode: s.RegisterMode,
		Trunks: s.Trunks, Pending: s.Pending, TrunkRegex: s.TrunkRegex}
}

// jsonOf encodes a value with encoding/json.
type jsonOf struct{ v any }

// MarshalJSON encodes the value.
func (j jsonOf) MarshalJSON() ([]byte, error) { return json.Marshal(j.v) }

// renderView adapts the renderer to api.Renderer.
type renderView struct{ r *render.Renderer }

// RenderTargets is the status page's view of render.Status.
func (v renderView) RenderTargets() []api.RenderTarget {
	ts := v.r.Status().Targets
	out := make([]api.RenderTarget, len(ts))
	for i, t := range ts {
		out[i] = api.RenderTarget{Name: t.Name, Template: t.Template, Output: t.Output, State: t.State, Trunks: t.Trunks,
			LastSuccess: deref(t.LastSuccess), LastChange: deref(t.LastChange), NextRetry: deref(t.NextRetry)}
		if e := t.LastError; e != nil {
			out[i].LastError = &api.RenderError{Time: e.Time, Stage: e.Stage, Message: e.Message, Output: e.Output}
		}
		if h := t.HeldBack; h != nil {
			out[i].HeldBack = &api.HeldRender{Since: h.Since, LiveTrunks: h.LiveTrunks, NewTrunks: h.NewTrunks,
				Removed: h.Removed, RemovedList: h.RemovedList, Ratio: h.Ratio, MaxRatio: h.MaxRatio}
		}
		for _, te := range t.TrunkErrors {
			out[i].TrunkErrors = append(out[i].TrunkErrors, api.TrunkRenderError{Code: te.Code, Reason: te.Reason, Kept: te.Kept})
		}
	}
	return out
}

// deref is *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// seconds converts a duration in seconds; nil is 0.
func seconds(s *float64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s * float64(time.Second))
}
