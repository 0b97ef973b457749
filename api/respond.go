package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// errorBody is the error shape of DESIGN.md §5.
type errorBody struct {
	Code    int    `json:"error_code"`
	Message string `json:"error_message"`
}

// writeJSON answers with v indented as the seed shows its bodies.
func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code = http.StatusInternalServerError
		data, _ = json.MarshalIndent(errorBody{Code: 1500, Message: "internal error: cannot encode the response"}, "", "  ")
	}
	writeRaw(w, code, data, '\n')
}

// writeRaw answers with a JSON body (plus extra bytes, e.g. a newline).
func writeRaw(w http.ResponseWriter, code int, body []byte, extra ...byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)+len(extra)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
	if len(extra) > 0 {
		_, _ = w.Write(extra)
	}
}

// retryAfter is the Retry-After of a 503: seconds until the remote (or
// the cluster's quorum) may be back.
const retryAfter = "5"

// writeError answers with the error shape. secrets (passwords the request
// carried or touched) are blanked out of the message as a last line of
// defence; 5xx errors are logged.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, secrets ...string) {
	status, msg := statusOf(err)
	msg = scrub(msg, secrets)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", msg)
	}
	writeJSON(w, status, errorBody{Code: 1000 + status, Message: msg})
}

// minScrubLen keeps very short passwords from blanking out ordinary words;
// no message echoes the pwd field, so scrubbing is defence in depth only.
const minScrubLen = 4

func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= minScrubLen {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}
