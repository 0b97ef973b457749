package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// History lists the commits that touched a provider's file (cmd/trunkd
// adapts registry/gitstore to it).
type History interface {
	// History returns the commits of the followed branch that touched
	// file (relative to the providers directory), newest first, skipping
	// offset and returning at most limit (> 0); total counts them all.
	History(ctx context.Context, file string, offset, limit int) (commits []Commit, total int, err error)
}

// Changes tells the last commit of every provider file, for the status
// page (cmd/trunkd adapts registry/gitstore to it).
type Changes interface {
	// LastChanges maps each file of the providers directory (relative
	// name) to the last commit that touched it.
	LastChanges(ctx context.Context) (map[string]Commit, error)
}

// Commit is one commit of a provider's history.
type Commit struct {
	SHA     string
	Author  string
	Time    time.Time // author time
	Message string    // the full message
}

// defaultHistoryLimit is the page size of a history request without limit.
const defaultHistoryLimit = 100

// historyEntry is one item of GET …/{id}/history.
type historyEntry struct {
	SHA     string    `json:"sha"`
	Author  string    `json:"author"`
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
	Fields  []string  `json:"fields"`
}

// history answers GET /rest/v1/uc/providers/{id}/history: the commits
// that touched the provider's file, newest first, with offset and limit
// and X-Total-Count. Without a git remote there is no history: 404.
func (s *server) history(w http.ResponseWriter, r *http.Request) {
	offset, limit, err := historyWindow(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	file := s.reg.Snapshot().FileOf(id)
	switch {
	case file == "":
		s.fail(w, r, notFound(id))
		return
	case s.o.History == nil:
		s.fail(w, r, errorf(http.StatusNotFound, "no history: trunkd does not follow a git remote (no git: section)"))
		return
	}
	commits, total, err := s.o.History.History(r.Context(), file, offset, max(limit, 1))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]historyEntry, 0, len(commits))
	for _, c := range commits[:min(len(commits), limit)] {
		out = append(out, historyEntry{SHA: c.SHA, Author: c.Author, Time: c.Time.UTC(),
			Message: c.Message, Fields: commitFields(c.Message)})
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
}

// historyWindow reads the offset and limit parameters of a history
// request.
func historyWindow(raw string) (offset, limit int, err error) {
	p, err := params(raw, "offset", "limit")
	if err != nil {
		return 0, 0, err
	}
	return window(p, defaultHistoryLimit)
}

// commitFields reads the field names of an API write's commit from its
// trailer; a commit made outside the API names none.
func commitFields(msg string) []string {
	fields := []string{}
	for _, line := range strings.Split(msg, "\n") {
		if list, ok := strings.CutPrefix(line, fieldsTrailer); ok {
			for _, f := range strings.Split(list, ",") {
				if f = strings.TrimSpace(f); f != "" {
					fields = append(fields, f)
				}
			}
		}
	}
	return fields
}
