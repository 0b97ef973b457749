package registry

import (
	"errors"
	"path/filepath"
	"strings"
)

// Errors of the store; API handlers map them to status codes.
var (
	ErrNotFound = errors.New("provider not found")
	ErrConflict = errors.New("conflict")
)

// clientError keeps the providers directory out of err's text: store
// errors reach API clients, which get file names only. errors.Is and As
// still see the wrapped errors.
func (r *Registry) clientError(err error) error {
	msg := strings.ReplaceAll(err.Error(), r.dir+string(filepath.Separator), "")
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(msg, r.dir, "the providers directory"), err: err}
}

// scrubbedError is an error with the providers directory cut out of its
// text.
type scrubbedError struct {
	msg string
	err error
}

// Error is the scrubbed text.
func (e *scrubbedError) Error() string { return e.msg }

// Unwrap is the original error.
func (e *scrubbedError) Unwrap() error { return e.err }
