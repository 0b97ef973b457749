package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/trunkd/trunkd/registry/gitstore"
)

// Syncer is the git follower as the API drives it: Trigger asks for a
// fast-forward to the remote now and never blocks.
type Syncer interface {
	Trigger()
}

// maxWebhookBody bounds a forge's push event (GitHub caps them at 25 MB;
// a push of many commits is far below this).
const maxWebhookBody = 25 << 20

// triggerSync answers POST /rest/v1/git/sync (writers): the working copy
// is fast-forwarded to the remote now instead of at the next poll.
func (s *server) triggerSync(w http.ResponseWriter, r *http.Request) {
	if s.o.Sync == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "trunkd does not follow a git remote (no git: section)"))
		return
	}
	s.o.Sync.Trigger()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sync triggered"})
}

// webhook answers POST /rest/v1/git/webhook/{forge} for GitHub, GitLab and
// Gitea push webhooks: the request is authenticated by the forge's
// signature (or token) with the shared secret, not by an API token, and
// triggers a sync.
func (s *server) webhook(w http.ResponseWriter, r *http.Request) {
	if s.o.Sync == nil || len(s.o.WebhookSecret) == 0 {
		s.fail(w, r, errorf(http.StatusNotFound, "webhooks are off: set git.webhook_secret_file"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.fail(w, r, errorf(http.StatusRequestEntityTooLarge, "webhook body larger than %d bytes", maxWebhookBody))
		return
	}
	if err != nil {
		s.fail(w, r, badRequest("read webhook body: %s", err.Error()))
		return
	}
	secret := s.o.WebhookSecret
	switch forge := chi.URLParam(r, "forge"); forge {
	case "github":
		err = gitstore.VerifyGitHub(secret, body, r.Header.Get("X-Hub-Signature-256"))
	case "gitea":
		err = gitstore.VerifyGitea(secret, body, r.Header.Get("X-Gitea-Signature"))
	case "gitlab":
		err = gitstore.VerifyGitLab(secret, r.Header.Get("X-Gitlab-Token"))
	default:
		s.fail(w, r, errorf(http.StatusNotFound, "unknown forge %q: github, gitlab or gitea", forge))
		return
	}
	if err != nil {
		s.log.Warn("webhook refused: signature does not match", "path", r.URL.Path, "remote", r.RemoteAddr)
		s.fail(w, r, errorf(http.StatusUnauthorized, "webhook signature or token does not match the configured secret"))
		return
	}
	s.o.Sync.Trigger()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sync triggered"})
}
