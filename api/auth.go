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

// authenticate answers 401 unless the request carries a valid token or a
// verified client certificate with an entry in the tokens file. A token,
// when sent, decides alone.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens := s.tokens.Load()
		secret, ok := bearer(r)
		var tok Token
		switch {
		case ok:
			if tok, ok = tokens.match(secret); !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="trunkd", error="invalid_token"`)
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "invalid token"))
				return
			}
		default:
			if tok, ok = tokens.certificate(clientCommonName(r)); !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="trunkd"`)
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>"))
				return
			}
		}
		ctx := context.WithValue(r.Context(), principalKey{}, principal{name: tok.Name, role: tok.Role})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// clientCommonName is the subject common name of the request's verified
// client certificate, or "".
func clientCommonName(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return r.TLS.VerifiedChains[0][0].Subject.CommonName
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
