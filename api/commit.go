package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Committer makes every API write a commit on a git remote (cmd/trunkd
// adapts registry/gitstore to it). Commit runs apply, which writes the
// files through the registry and says what it changed, commits that with
// author and pushes it; when the remote moved meanwhile it calls apply
// again on the new head, so apply judges its preconditions (If-Match,
// uniqueness) every time it runs. An error of apply is returned as it is;
// a failure of the remote wraps ErrRemoteUnavailable, ErrRemoteMoved or
// ErrRemoteDeclined. Whatever fails, nothing of the write is left.
type Committer interface {
	Commit(ctx context.Context, author string, apply func(ctx context.Context) (Change, error)) error
}

// Change is what one API write changed: the commit message (operation,
// provider code, field names; never a value) and the files it wrote or
// removed, relative to the providers directory.
type Change struct {
	Message string
	Files   []string
}

// Errors a Committer wraps; the API answers 503, 409 and 502.
var (
	// ErrRemoteUnavailable: the remote could not be reached; the write is
	// not applied and may be retried (503 with Retry-After).
	ErrRemoteUnavailable = errors.New("the git remote is unreachable; the write was not applied, retry later")
	// ErrRemoteMoved: the remote kept moving while the write was re-applied
	// (409).
	ErrRemoteMoved = errors.New("the git remote kept changing while the write was re-applied; the write was not applied, read the provider again and retry")
	// ErrRemoteDeclined: the remote refused the push (a protected branch, a
	// hook); retrying does not help (502).
	ErrRemoteDeclined = errors.New("the git remote declined the push; the write was not applied")
)

// commit runs apply inside the Committer, or directly without one; a
// fenced cluster node refuses it before anything is applied. The
// client hanging up does not cancel a push under way: the write finishes
// or is undone as a whole.
func (s *server) commit(r *http.Request, apply func(ctx context.Context) (Change, error)) error {
	if s.fenced() {
		return ErrFenced
	}
	ctx := context.WithoutCancel(r.Context())
	if s.o.Commits == nil {
		_, err := apply(ctx)
		return err
	}
	return s.o.Commits.Commit(ctx, principalOf(r).name, apply)
}

// commitMessage is the subject of a write's commit, "PATCH acme: domain,
// pwd", and a Fields trailer the history endpoint reads back.
func commitMessage(op, code string, fields []string) string {
	msg := op + " " + code
	if len(fields) == 0 {
		return msg
	}
	list := strings.Join(fields, ", ")
	return msg + ": " + list + "\n\n" + fieldsTrailer + list
}

// fieldsTrailer starts the trailer of a write's commit that names the
// changed fields.
const fieldsTrailer = "Trunkd-Fields: "
