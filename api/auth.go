package api

import (
	"context"
	"net/http"
	"strings"
)

type principalKey struct{}

// principal is the authenticated caller of a request.
type principal struct {
	name string
	role Role
}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// bearer extracts the token of an "Authorization: Bearer <token>" header;
// the scheme is case-insensitive (RFC 9110 §11.1).
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate answers 401 unless the request carries a valid token.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trunkd"`)
			writeError(w, r, s.log, errorf(http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>"))
			return
		}
		tok, ok := s.tokens.match(secret)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trunkd", error="invalid_token"`)
			writeError(w, r, s.log, errorf(http.StatusUnauthorized, "invalid token"))
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, principal{name: tok.Name, role: tok.Role})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// require answers 403 unless the caller's role is at least min. It runs
// after authenticate.
func require(min Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p := principalOf(r); p.role < min {
			writeJSON(w, http.StatusForbidden, errorBody{Code: 1403,
				Message: "forbidden: role " + p.role.String() + " may not " + action(r) + "; it needs " + min.String()})
			return
		}
		h(w, r)
	}
}

func action(r *http.Request) string {
	switch r.Method {
	case http.MethodPost:
		if strings.HasSuffix(r.URL.Path, "/confirm") {
			return "confirm a held render"
		}
		return "create providers"
	case http.MethodPatch:
		return "change providers"
	case http.MethodDelete:
		return "delete providers"
	}
	return "do this"
}
