package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/trunkd/trunkd/registry"
)

// collectionPath is the seed's providers collection.
const collectionPath = "/rest/v1/uc/providers"

// pagePool recycles list page buffers; a page larger than maxPooledPage
// (an unlimited list of many providers) is left to the collector.
var pagePool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxPooledPage = 1 << 20

// list answers GET /rest/v1/uc/providers: filter, order, window, then the
// page, encoded from the per-provider cache when no mask is given.
func (s *server) list(w http.ResponseWriter, r *http.Request) { s.listOn(s.view(), w, r) }

// listOn answers a list request from view v.
func (s *server) listOn(v *view, w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var page []int32
	total := len(v.entries)
	if len(q.filter) == 0 && len(q.order) == 0 {
		page = identityWindow(total, q.offset, q.limit)
	} else {
		all, err := v.matching(r.Context(), q.filterText+"\x00"+orderSpec(q.order), q.filter, q.order)
		if err != nil {
			s.log.Debug("list abandoned by the client", "path", r.URL.Path, "error", err)
			return
		}
		total = len(all)
		page = sliceWindow(all, q.offset, q.limit)
	}

	bp := pagePool.Get().(*[]byte)
	buf := v.appendPage((*bp)[:0], page, &q)
	h := w.Header()
	h.Set("X-Total-Count", strconv.Itoa(total))
	writeRaw(w, http.StatusOK, buf)
	if cap(buf) <= maxPooledPage {
		*bp = buf
		pagePool.Put(bp)
	}
}

// appendPage appends the JSON array of the providers at indexes page,
// from the per-provider cache when q has no mask.
func (v *view) appendPage(buf []byte, page []int32, q *listQuery) []byte {
	buf = append(buf, '[')
	for j, i := range page {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n', ' ', ' ')
		if e := v.entries[i]; q.mask == nil {
			buf = append(buf, e.listJSON(q.flat)...)
		} else {
			buf = appendEntity(buf, e.p, *q.mask, q.flat, "  ")
		}
	}
	if len(page) > 0 {
		buf = append(buf, '\n')
	}
	return append(buf, ']', '\n')
}

// identityWindow is the page [offset, offset+limit) of n providers in
// snapshot order; limit < 0 is no limit.
func identityWindow(n, offset, limit int) []int32 {
	start, end := min(offset, n), n
	if limit >= 0 && limit < end-start {
		end = start + limit
	}
	page := make([]int32, 0, end-start)
	for i := start; i < end; i++ {
		page = append(page, int32(i))
	}
	return page
}

// sliceWindow is the page [offset, offset+limit) of all; limit < 0 is no limit.
func sliceWindow(all []int32, offset, limit int) []int32 {
	start, end := min(offset, len(all)), len(all)
	if limit >= 0 && limit < end-start {
		end = start + limit
	}
	return all[start:end]
}

// get answers GET /rest/v1/uc/providers/{id}: the full entity (pwd for
// admins only), with an ETag.
func (s *server) get(w http.ResponseWriter, r *http.Request) {
	admin := principalOf(r).role == RoleAdmin
	allowed := shapeRedacted
	if admin {
		allowed = shapeFull
	}
	mask, flat, err := parseEntityQuery(r.URL.RawQuery, allowed)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	e, ok := s.view().byID(id)
	if !ok {
		s.fail(w, r, notFound(id))
		return
	}
	one := e.single(&s.views.etagKey)
	w.Header().Set("ETag", one.etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListMatches(inm, one.etag, true) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	sh := allowed
	if mask != nil {
		sh = *mask
	}
	if sh.has("pwd") {
		w.Header().Set("Cache-Control", "no-store")
	}
	body := one.redacted
	if admin {
		body = one.full
	}
	if mask != nil || flat {
		body = appendEntity(nil, e.p, sh, flat, "")
	}
	writeRaw(w, http.StatusOK, body, '\n')
}

// create answers POST /rest/v1/uc/providers: the body starts from the
// defaults, the registry validates it and writes the new file.
func (s *server) create(w http.ResponseWriter, r *http.Request) {
	body, err := s.entityRequest(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := registry.Default()
	body.apply(&p)
	var created *registry.Provider
	err = s.commit(r, func(context.Context) (Change, error) {
		var err error
		if created, err = s.reg.Create(p); err != nil {
			return Change{}, err
		}
		return Change{Message: commitMessage("POST", created.Code, body.paths()),
			Files: []string{s.reg.Snapshot().FileOf(created.ID)}}, nil
	})
	if err != nil {
		s.fail(w, r, err, body.pwd)
		return
	}
	s.log.Info("provider created", append([]any{"id", created.ID, "code", created.Code, "by", principalOf(r).name}, s.activeAttrs(created)...)...)
	w.Header().Set("Location", collectionPath+"/"+created.ID)
	s.writeEntity(w, r, created)
}

// activeAttrs says in a write's log line whether the stored provider is
// active on this daemon's server_index, and if not, the values that make it
// inactive: a trunk written with another serveridx, or disabled, is neither
// rendered nor probed here, and the log is where the writer looks first.
func (s *server) activeAttrs(p *registry.Provider) []any {
	if p.Active(s.o.ServerIndex) {
		return []any{"active", true}
	}
	return []any{"active", false, "enabled", p.Enabled, "serveridx", p.ServerIdx, "server_index", s.o.ServerIndex}
}

// errUnchanged aborts an update that would change nothing.
var errUnchanged = errors.New("unchanged")

// patch answers PATCH /rest/v1/uc/providers/{id}: the body is merged into
// the current version under the registry's lock, after If-Match.
func (s *server) patch(w http.ResponseWriter, r *http.Request) {
	body, err := s.entityRequest(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	current, updated, err := s.update(r, id, body)
	switch {
	case errors.Is(err, errUnchanged):
		updated = &current
	case errors.Is(err, registry.ErrNotFound):
		s.fail(w, r, notFound(id))
		return
	case err != nil:
		// Only an admin's errors are scrubbed of the stored password: for
		// anyone else a "***" in the echo of a value they sent would
		// confirm a guess of it. No message quotes the pwd field itself.
		secrets := []string{body.pwd}
		if principalOf(r).role == RoleAdmin {
			secrets = append(secrets, current.Pwd)
		}
		s.fail(w, r, err, secrets...)
		return
	default:
		s.log.Info("provider updated", append([]any{"id", updated.ID, "code", updated.Code, "fields", body.paths(), "by", principalOf(r).name}, s.activeAttrs(updated)...)...)
	}
	s.writeEntity(w, r, updated)
}

// update merges body into provider id and commits the change. It returns
// the version it found (also on errors past the lookup) and the updated
// one; errUnchanged when the body changes nothing.
func (s *server) update(r *http.Request, id string, body *entityBody) (current registry.Provider, updated *registry.Provider, err error) {
	ifMatch := r.Header.Get("If-Match")
	err = s.commit(r, func(context.Context) (Change, error) {
		var err error
		updated, err = s.reg.Update(id, func(p *registry.Provider) error {
			current = *p
			if ifMatch != "" && !etagListMatches(ifMatch, s.etag(p), false) {
				return errPrecondition
			}
			body.apply(p)
			if *p == current {
				return errUnchanged
			}
			return nil
		})
		if err != nil {
			return Change{}, err
		}
		return Change{Message: commitMessage("PATCH", updated.Code, body.paths()),
			Files: []string{s.reg.Snapshot().FileOf(updated.ID)}}, nil
	})
	return current, updated, err
}

// remove answers DELETE /rest/v1/uc/providers/{id}.
func (s *server) remove(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r.URL.RawQuery); err != nil {
		s.fail(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	ifMatch := r.Header.Get("If-Match")
	var code string
	err := s.commit(r, func(context.Context) (Change, error) {
		file := s.reg.Snapshot().FileOf(id)
		err := s.reg.Delete(id, func(p *registry.Provider) error {
			code = p.Code
			if ifMatch != "" && !etagListMatches(ifMatch, s.etag(p), false) {
				return errPrecondition
			}
			return nil
		})
		return Change{Message: commitMessage("DELETE", code, nil), Files: []string{file}}, err
	})
	if errors.Is(err, registry.ErrNotFound) {
		err = notFound(id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("provider deleted", "id", id, "code", code, "by", principalOf(r).name)
	w.WriteHeader(http.StatusNoContent)
}

// lookup answers LOOKUP /rest/v1/uc/providers: the ids of the providers
// whose id or code is exactly the given string.
func (s *server) lookup(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r.URL.RawQuery); err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := readJSONBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key, err := decodeLookup(data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	snap := s.view().snap
	ids := []string{}
	if p, ok := snap.ByID(key); ok {
		ids = append(ids, p.ID)
	}
	if p, ok := snap.ByCode(key); ok && (len(ids) == 0 || ids[0] != p.ID) {
		ids = append(ids, p.ID)
	}
	if len(ids) == 0 {
		s.fail(w, r, errorf(http.StatusNotFound, "Lookup failed"))
		return
	}
	writeJSON(w, http.StatusOK, ids)
}

// entityRequest reads and decodes the provider entity of POST and PATCH.
func (s *server) entityRequest(w http.ResponseWriter, r *http.Request) (*entityBody, error) {
	if _, err := params(r.URL.RawQuery); err != nil {
		return nil, err
	}
	data, err := readJSONBody(w, r)
	if err != nil {
		return nil, err
	}
	return decodeEntity(data)
}

// writeEntity answers a write with the full entity as the caller's role
// may see it, and its ETag.
func (s *server) writeEntity(w http.ResponseWriter, r *http.Request, p *registry.Provider) {
	admin := principalOf(r).role == RoleAdmin
	sh := shapeRedacted
	if admin {
		sh = shapeFull
		w.Header().Set("Cache-Control", "no-store")
	}
	w.Header().Set("ETag", s.etag(p))
	writeRaw(w, http.StatusOK, appendEntity(nil, p, sh, false, ""), '\n')
}

func notFound(id string) error {
	if len(id) > 80 {
		id = id[:80] + "…"
	}
	return errorf(http.StatusNotFound, "provider %q not found", id)
}

// paths lists the fields a body sets, for the audit log (never values).
func (b *entityBody) paths() []string {
	out := make([]string, len(b.leaves))
	for i, l := range b.leaves {
		out[i] = l.field.Path
	}
	return out
}
