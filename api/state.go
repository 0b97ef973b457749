package api

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// state answers GET /rest/v1/uc/providers/{id}/state with the prober's
// live view of one provider.
func (s *server) state(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r.URL.RawQuery); err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if _, ok := s.view().snap.ByID(id); !ok {
		s.fail(w, r, notFound(id))
		return
	}
	if s.o.Prober == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "no live state: the SIP prober is not running"))
		return
	}
	st, ok := s.o.Prober.ProviderState(id)
	if !ok {
		s.fail(w, r, errorf(http.StatusNotFound, "provider %q is not probed (disabled, or not on this server's index)", id))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// confirm answers POST /rest/v1/render/{target}/confirm: an admin releases
// a render the drop guard held back.
func (s *server) confirm(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r.URL.RawQuery); err != nil {
		s.fail(w, r, err)
		return
	}
	target := chi.URLParam(r, "target")
	if s.o.Confirm == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "rendering is not configured"))
		return
	}
	if err := s.o.Confirm.ConfirmDrop(target); err != nil {
		status := http.StatusConflict
		if errors.Is(err, ErrNoTarget) {
			status = http.StatusNotFound
		}
		s.fail(w, r, errorf(status, "confirm render target %q: %s", target, err.Error()))
		return
	}
	s.log.Info("render drop confirmed", "target", target, "by", principalOf(r).name)
	writeJSON(w, http.StatusOK, map[string]string{"target": target, "status": "confirmed"})
}
