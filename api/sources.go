package api

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// Providers is the provider registry as the API uses it: the current
// snapshot for reads, and the writes, each checked and applied under the
// registry's lock (*registry.Registry implements it).
type Providers interface {
	// Snapshot is the current providers snapshot (never nil once open).
	Snapshot() *registry.Snapshot
	// Dir is the providers directory, for /status.
	Dir() string
	// LastReload is when the directory was last read successfully.
	LastReload() time.Time
	// Create validates p and writes it as a new file.
	Create(p registry.Provider) (*registry.Provider, error)
	// Update applies change to the current version of provider id.
	Update(id string, change func(p *registry.Provider) error) (*registry.Provider, error)
	// Delete removes provider id after check approves its current version.
	Delete(id string, check func(p *registry.Provider) error) error
	// Healthy fails (registry.ErrStuck) while a rescan or write has held
	// the registry too long: writes and outside edits no longer apply.
	Healthy() error
}

// StatusSection is one component's section of /status (render targets,
// the prober, the config reload), under its name. Its JSON must not
// contain passwords.
type StatusSection interface {
	StatusName() string
	json.Marshaler
}

// Prober is the SIP prober as the API reads it.
type Prober interface {
	// TrunkState is what the status page shows of a provider; ok is
	// false when the provider is not probed (inactive, outside
	// probe.trunk_regex).
	TrunkState(id string) (state TrunkState, ok bool)
	// ProviderState is the body of GET /rest/v1/uc/providers/{id}/state.
	ProviderState(id string) (state json.Marshaler, ok bool)
	// Summary is the prober's line on the status page.
	Summary() ProberSummary
}

// Renderer is the renderer as the status page reads it.
type Renderer interface {
	// RenderTargets lists the targets in the renderer's order.
	RenderTargets() []RenderTarget
}

// DropConfirmer lets an admin release a render held back by the drop guard
// (POST /rest/v1/render/{target}/confirm). An error answers 409 (nothing to
// confirm), or 404 when it wraps ErrNoTarget.
type DropConfirmer interface {
	ConfirmDrop(target string) error
}

// ErrNoTarget is wrapped by a DropConfirmer's error for a target that does
// not exist.
var ErrNoTarget = errors.New("no such render target")
