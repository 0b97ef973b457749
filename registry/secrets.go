package registry

import (
	"errors"
	"fmt"

	"github.com/trunkd/trunkd/registry/sops"
)

// decode is the plaintext of a stored file (the file itself without
// Options.Secrets); a file that cannot be decrypted is a problem that keeps
// the last good version, as a file that does not parse.
func (r *Registry) decode(name string, data []byte) ([]byte, Problems) {
	if r.opts.Secrets == nil {
		return data, nil
	}
	plain, err := r.opts.Secrets.Decode(name, data)
	if err != nil {
		return data, Problems{secretsProblem(name, err)}
	}
	return plain, nil
}

// encode is what to store for a plaintext the store wrote. A password the
// codec refuses to store in clear is an invalid value (Problems: a 400 for
// API clients); a file whose layout cannot take the encrypted value is a
// conflict (edit it by hand: a 409); anything else is the daemon's own
// failure.
func (r *Registry) encode(name string, plain, stored []byte) ([]byte, error) {
	if r.opts.Secrets == nil {
		return plain, nil
	}
	out, err := r.opts.Secrets.Encode(name, plain, stored)
	var se *sops.Error
	switch {
	case err == nil:
		return out, nil
	case !errors.As(err, &se):
		return nil, fmt.Errorf("encrypt %s: %w", name, err)
	case se.Kind == sops.Plaintext:
		return nil, Problems{{File: name, Field: "pwd",
			Msg: "would be stored in clear: set secrets.age_recipients (or secrets.allow_plaintext: true)"}}
	}
	return nil, fmt.Errorf("%w: %w", ErrConflict, err)
}

// secretsProblem is the codec's error about a stored file as a Problem
// with file and line.
func secretsProblem(name string, err error) Problem {
	if se, ok := errors.AsType[*sops.Error](err); ok {
		return Problem{File: name, Line: se.Line, Msg: se.Msg}
	}
	return Problem{File: name, Msg: err.Error()}
}
