package api

import (
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
}

// StatusSource is a component that reports its state in /status under its
// name (render targets, the prober). Status must not contain passwords.
type StatusSource interface {
	StatusName() string
	Status() any
}

// StateSource gives the live SIP state of one provider for
// GET /rest/v1/uc/providers/{id}/state; ok is false when the provider is not
// probed (inactive, or the prober is off).
type StateSource interface {
	ProviderState(id string) (state any, ok bool)
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
