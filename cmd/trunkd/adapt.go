package main

import (
	"errors"
	"fmt"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/render"
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
