package api

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
// confirm), or 404 when it (or an error it wraps) has a method
// NotFound() bool that returns true (no such target).
type DropConfirmer interface {
	ConfirmDrop(target string) error
}
