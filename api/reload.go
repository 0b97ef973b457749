package api

import (
	"context"
	"net/http"
)

// Reloader re-reads the daemon's config and tokens files the safe way:
// parse, validate, swap; on an error the running state stays in force.
type Reloader interface {
	Reload(ctx context.Context) error
}

// reload answers POST /rest/v1/reload: an admin makes the daemon re-read
// its config file and tokens file, as SIGHUP does.
func (s *server) reload(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r.URL.RawQuery); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.o.Reload == nil {
		s.fail(w, r, errorf(http.StatusNotFound, "reloading is not configured"))
		return
	}
	s.log.Info("config reload requested", "by", principalOf(r).name)
	if err := s.o.Reload.Reload(r.Context()); err != nil {
		s.fail(w, r, errorf(http.StatusConflict, "reload failed, the running configuration stays in force: %s", err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}
