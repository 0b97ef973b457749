package sops

import "fmt"

// Error is the codec's error about the content of one file: the file, the
// line at fault (0: the file as a whole) and the kind of fault, so that a
// caller tells a broken file from a layout that cannot take an encrypted
// value and from a refused password without reading the message.
type Error struct {
	File string
	Line int
	Kind Kind
	Msg  string // what is wrong, without file and line; never a value
	Err  error  // the cause, for errors.Is (ErrPlaintextRefused, ErrEncrypted, ErrNoIdentity); may be nil
}

// Kind is what an Error is about.
type Kind int

const (
	// Broken: the file cannot be read as a sops file (its YAML, the sops
	// section, an encrypted value, the MAC), or not with the identities at
	// hand.
	Broken Kind = iota + 1
	// Layout: a value cannot be encrypted where and how it is written (an
	// alias, a block or multi-line scalar, a file that is one flow mapping,
	// a file that is encrypted already); the file must be edited by hand.
	Layout
	// Plaintext: the write would store a password in clear, and plaintext
	// is not allowed.
	Plaintext
)

// Error is "file:line: msg", or "file: msg" without a line.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// fault is an Error of kind without its file (wrapName adds it).
func fault(kind Kind, line int, format string, args ...any) *Error {
	return &Error{Kind: kind, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// wrapName names the file in err: an Error gets it as its File, any other
// error is prefixed with it.
func wrapName(name string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok && e.File == "" {
		e.File = name
		return e
	}
	return fmt.Errorf("%s: %w", name, err)
}
