package registry

import (
	"fmt"
	"strconv"
	"strings"
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

// encode is what to store for a plaintext the store wrote.
func (r *Registry) encode(name string, plain, stored []byte) ([]byte, error) {
	if r.opts.Secrets == nil {
		return plain, nil
	}
	out, err := r.opts.Secrets.Encode(name, plain, stored)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return out, nil
}

// secretsProblem turns "name:line: rest" into a Problem with file and line.
func secretsProblem(name string, err error) Problem {
	msg, _ := strings.CutPrefix(err.Error(), name+":")
	p := Problem{File: name, Msg: strings.TrimSpace(msg)}
	if num, rest, ok := strings.Cut(msg, ": "); ok {
		if line, err := strconv.Atoi(num); err == nil {
			p.Line, p.Msg = line, rest
		}
	}
	return p
}
