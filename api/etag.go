package api

import (
	"net/http"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// etag is provider p's ETag.
func (s *server) etag(p *registry.Provider) string {
	return etagOf(&s.views.etagKey, appendEntity(nil, p, shapeFull, false, ""))
}

// errPrecondition is an If-Match that does not match the current version.
var errPrecondition = errorf(http.StatusPreconditionFailed, "precondition failed: the provider changed since the ETag in If-Match was issued; GET it again")

// etagListMatches reports whether an If-Match / If-None-Match header value
// ("*" or a comma-separated list of entity tags) matches etag. If-Match
// uses the strong comparison (weak tags never match), If-None-Match the
// weak one (RFC 9110 §8.8.3.2).
func etagListMatches(header, etag string, weak bool) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if strings.HasPrefix(t, "W/") {
			if !weak {
				continue
			}
			t = t[2:]
		}
		if t == etag {
			return true
		}
	}
	return false
}
