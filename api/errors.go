package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// apiError is a failure with the HTTP status it answers with. Its message
// goes to the client as error_message, so it must name the field at fault
// and never contain a password.
type apiError struct {
	status int
	msg    string
}

// Error is the message sent as error_message.
func (e *apiError) Error() string { return e.msg }

// errorf builds an apiError; format must not receive a password.
func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, format, args...)
}

// statusOf maps an error to its HTTP status and client message: apiError
// as is, the registry's errors by kind, anything else 500.
func statusOf(err error) (int, string) {
	var ae *apiError
	var probs registry.Problems
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg
	case errors.As(err, &probs):
		return http.StatusBadRequest, problemsMessage(probs)
	case errors.Is(err, registry.ErrNotFound):
		return http.StatusNotFound, "provider not found"
	case errors.Is(err, registry.ErrConflict):
		return http.StatusConflict, err.Error()
	case errors.Is(err, ErrFenced):
		return http.StatusServiceUnavailable, ErrFenced.Error()
	case errors.Is(err, ErrRemoteUnavailable):
		return http.StatusServiceUnavailable, ErrRemoteUnavailable.Error()
	case errors.Is(err, ErrRemoteMoved):
		return http.StatusConflict, ErrRemoteMoved.Error()
	case errors.Is(err, ErrRemoteDeclined):
		return http.StatusBadGateway, ErrRemoteDeclined.Error()
	}
	return http.StatusInternalServerError, "internal error: " + err.Error()
}

// problemsMessage joins validation problems: "code: is required; domain: is required".
func problemsMessage(probs registry.Problems) string {
	parts := make([]string, len(probs))
	for i, p := range probs {
		p.File, p.Line = "", 0
		parts[i] = p.Error()
	}
	return strings.Join(parts, "; ")
}
