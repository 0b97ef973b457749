// Package api serves trunkd's HTTP interface: the providers collection of
// the seed contract at /rest/v1/uc/providers (six operations, the query
// language, bearer-token roles, seed-shaped error bodies), a provider's live
// SIP state, the render drop-guard confirmation, the OpenAPI document, the
// HTML status page at /, and the operational endpoints /healthz, /readyz,
// /status and /metrics. It
// keeps no state of its own: reads come from the registry's current
// snapshot and writes go through the registry's store.
//
// Routes (openapi.json lists exactly these; a test walks the router):
//
//	GET    /rest/v1/uc/providers               list            reader
//	POST   /rest/v1/uc/providers               create          writer
//	LOOKUP /rest/v1/uc/providers               ids by id/code  reader
//	GET    /rest/v1/uc/providers/{id}          one entity      reader
//	PATCH  /rest/v1/uc/providers/{id}          merge           writer
//	DELETE /rest/v1/uc/providers/{id}          remove          writer
//	GET    /rest/v1/uc/providers/{id}/state    prober state    reader
//	POST   /rest/v1/render/{target}/confirm    release a hold  admin
//	GET    /                                   status page     (no token*)
//	GET    /rest/v1/openapi.json, /healthz, /readyz, /status*, /metrics (no token)
//
// (*) auth.status_page_requires_token (Options.StatusAuth) makes both the
// status page and /status require a token of any role.
//
// # File layout
//
// server.go is the hub: Options, the server and the route table. Each
// handler is a method of the server in the file of its concept
// (providers.go, state.go, history.go, reload.go, webhook.go, auth.go,
// statuspage.go, commit.go, cluster.go) and uses the server's fields,
// while the route table names it and Options names the interface it
// consumes, declared next to the code that uses it (Committer in
// commit.go, Reloader in reload.go, Syncer in webhook.go, Cluster in
// cluster.go, …): those nine file pairs refer both ways by design, and
// they are the only ones (counted with go/types). Everything else refers
// one way: respond.go (JSON answers, errors, Retry-After) and errors.go
// are used by all; match.go runs a query over view.go with filter.go's
// conditions and order.go's keys; the status page is assembled in
// statuspage_view.go from the rows of statuspage_rows.go, which
// statuspage_state.go, statuspage_render.go and statuspage_cluster.go fill.
//
// Decisions where the seed and DESIGN.md are silent:
//
// Authentication. "Authorization: Bearer <token>" (scheme case-insensitive);
// sha256(token) is compared in constant time with every stored hash. With
// no tokens configured every providers request is a 401 (closed by
// default; a warning is logged at start). Handler.SetTokens swaps the
// tokens while serving (a config reload). Over TLS with client CAs, a
// verified client certificate authenticates as the tokens file's
// certificates entry for its subject common name; a request that sends a
// token is judged by the token alone. / and /status are public unless
// Options.StatusAuth (Handler.SetStatusAuth) is set. A request
// is checked in this order: 401, 403, query parameters (400), Content-Type
// (415), size (413), body (400), then 404, 412, 409 and validation (400).
//
// Cluster. With Options.Cluster (the cluster: section) a fenced node
// answers /readyz with 503 (/healthz stays 200: a restart does not bring
// etcd back) and refuses POST, PATCH and DELETE with a 503 and Retry-After
// before anything is applied; a write already inside the git committer
// when the node fences finishes or fails as a whole (the cluster's write
// lock is held under the lease that fences). /status and the status page
// show the node, its lease, the live nodes, each active trunk's owner and
// the last ownership changes.
//
// Query parameters are strict: unknown or repeated parameters and malformed
// escapes are 400; an empty value counts as absent. offset and limit take
// decimal digits only; flat takes true, false, 1 or 0.
//
// filter: values are typed as in the entity, without coercion (an integer
// field takes a JSON integer, any other field a JSON string; null is never
// a value). {"lic": {"siptrunks": 5}} is the same as {"lic.siptrunks": 5}.
// Text compares byte-wise and case-sensitively; ext.ct and ext.lwt take any
// RFC 3339 time and compare as times. $like matches the whole value, on text
// fields and the timestamps' seed form only; "\" makes the next * or ?
// literal. An empty array matches nothing; {} matches everything.
//
// order: a value starting with "[" is the JSON form, anything else the
// comma form; a "-" prefix also works inside the JSON form, and an object
// may name several fields (applied in the order written). Directions are
// exactly "asc" or "desc". Naming a field twice, a group ("lic") or pwd /
// opts.comment is a 400. Ties break by id ascending, also under "desc"
// keys. Without order the list is by code, then id.
//
// mask: a group name selects its fields (in the list "opts" is opts.title
// only). The output keeps the entity's field order whatever the mask's
// order, and holds exactly the named fields (id is not added). Naming pwd
// is a 400 on every endpoint and for every role, admins included (they read
// pwd from the unmasked entity); opts.comment is a 400 in the list only.
//
// Bodies: Content-Type application/json with no charset or utf-8; at most
// 1 MiB; valid UTF-8; exactly one JSON object (or, for LOOKUP, one string).
// Unknown fields, dotted keys ("lic.siptrunks" belongs nested), repeated
// fields, nulls and wrong JSON types are a 400 naming the field; the
// rejected value is never quoted back. Integers are bounded as in files
// (±2^40). ext is ignored whatever it holds. An "id" of "" means no id.
//
// Writes: POST answers 200 with the entity, an ETag and a Location header.
// PATCH merges field by field (also inside lic and opts) into the file's
// current content under the registry's lock, where If-Match is checked, so
// a check-then-write race is impossible. A PATCH that changes nothing
// writes nothing and leaves ext.lwt as it was (no churn in git-managed
// files, no engine reload). DELETE of an unknown id is 404, also with
// "If-Match: *". Every write is logged at info with the token's name, the
// provider's id and code and the names (never values) of the fields set,
// and with active=true|false: a stored trunk this daemon will not render
// nor probe (disabled, or another serveridx than Options.ServerIndex) adds
// enabled, serveridx and server_index to that line.
//
// ETag: an HMAC-SHA256, under a random per-process key, of the full entity
// including pwd: any change (also a password rotation in the file) changes
// it, yet it reveals nothing about the password. It is the same for every
// role. ETags change when the daemon restarts; a stale If-Match is then a
// 412 and the client GETs again. If-Match uses the strong comparison ("*"
// matches any existing provider); If-None-Match on GET answers 304.
//
// Responses: JSON indented by two spaces as the seed shows it, with a final
// newline; list items are byte-identical to the seed's. Responses holding
// pwd carry "Cache-Control: no-store". LOOKUP matches id, then code,
// exactly and case-sensitively, and lists each id once.
//
// Errors: every error, also 404 for unknown paths, 405 (with an Allow
// header) and a recovered panic (500, logged with its stack), has the
// {"error_code", "error_message"} shape. Messages are scrubbed of the
// passwords the request carried or touched, as a second line of defence.
// HEAD is served wherever GET is (chi's GetHead; the 405 Allow header lists
// it); a trailing slash is a 404.
//
// Hostile clients (HTTPServer, Limits): every request must arrive within
// a read timeout (a trickled body is a 408 and the connection closes), the
// answer be read within a write timeout, idle keep-alives close, and the
// open connections are bounded. At the bound a new connection closes the
// one idle (or silent since it connected) the longest, skipping any whose
// request already waits unread in its socket, so a flood of idle
// connections cannot lock out /healthz; netutil.LimitListener would stop
// accepting instead and lock everyone out until the flood timed out. A
// request line and headers over 1 MiB are a 431 with the error body
// (net/http's own plain-text 431 stays above 2 MiB, the most it buffers).
// Transfer-Encoding is refused with 400 and the connection closed:
// net/http drops Content-Length when both are sent, so a handler cannot
// tell the smuggling form from plain chunked, and RFC 9112 §6.1 wants the
// connection closed; the API's bodies are small and sent with
// Content-Length by every client. $like patterns are at most 1024
// characters and match in time linear in the value; a list stops filtering
// when its client goes away.
//
// State and confirm: the state endpoint answers 404 for an unknown id, when
// Options.Prober is nil (no prober) and when the provider is not probed.
// Confirm answers 404 when Options.Confirm is nil or its error wraps
// ErrNoTarget, 409 for any other error, and 200
// {"target": …, "status": "confirmed"} on success.
//
// Performance: a view per registry snapshot caches, per provider, its
// encoded list items and its single-entity answers with their ETag
// (carried over to the next view while the provider is unchanged), per
// field a column of values, per sort order a permutation (32 per view)
// and per filter and order the matching positions (64 per view): paging
// through one query costs the page, not a scan of every provider.
//
// Hand-written JSON stays only where a benchmark shows it at least 1.5×
// faster than encoding/json doing the same work (json_bench_test.go,
// medians of alternating runs on a loaded 2-core machine):
//
//	BenchmarkJSONString    appendJSONString vs json.Marshal                 5–8×
//	BenchmarkJSONEntity    appendEntity vs json.MarshalIndent               4–8×
//	BenchmarkJSONListPage  cached list items vs json.MarshalIndent          300× (60× vs appendEntity)
//	BenchmarkJSONSingle    cached GET /{id} body and ETag vs encoding each  4000×
//	BenchmarkAPI list_page pagePool vs a new buffer per page               2× (garbage at 10,000 providers)
//
// Two token walks over encoding/json's Decoder.Token are slower than
// json.Unmarshal and stay because it cannot do their work: the entity
// body's (body.go, BenchmarkJSONBody 0.3×) and the query parameters'
// (jsonvalue.go, BenchmarkJSONQuery 0.3×). Unmarshal matches names
// case-insensitively, lets a repeated field win, takes null as absent,
// loses the order of object members (order applies them as written) and
// reports a syntax error anywhere before the first wrong field.
//
// Status page. GET / is a read-only HTML page for people (html/template,
// embedded; inline CSS, no script, no external asset, readable on a phone
// and in dark mode): every valid provider sorted by code with enabled /
// active (Options.ServerIndex), registration state, last answer, mode and
// expiry (bind mode: the prober's own binding; query mode: the bindings
// listed), ping state, RTT and failures in a row, and the current target
// with the failover order; then every problem of every invalid file (file,
// line, field, problem); then the render targets (output, state, trunks,
// last success, last error with stage and command output, a drop held back
// with the confirm path). A header sums up trunks, registered, reachable,
// invalid files and render targets ok. The page is built from chosen
// fields only, never from a whole provider, so pwd cannot reach it. It
// reads the prober and the renderer through the small typed interfaces
// this package declares (Prober: TrunkState, Summary; Renderer:
// RenderTargets), which cmd/trunkd implements over sipcheck and render;
// api imports neither. A trunk whose credentials work while the registrar
// lists no binding of the SIP engine is marked "engine not registered",
// and a target lists the trunks its template failed for. It reloads itself
// every 10 s with <meta http-equiv="refresh">; ?refresh=N sets 2 to 3600
// seconds and ?refresh=0 stops it (the page links to both); any other
// query parameter is a 400 as elsewhere. Responses carry Cache-Control:
// no-store, a Content-Security-Policy that allows only the inline styles
// (no script, no fetch, no framing), nosniff and no-referrer. One flag,
// auth.status_page_requires_token, protects the page and its JSON form
// /status together: they show the same facts, and protecting one without
// the other would protect nothing. With it set the page needs an
// "Authorization: Bearer" header, which a browser does not send by itself:
// put the page behind a reverse proxy that adds it, or use curl. Tokens are
// never taken from the query string (they would end up in access logs and
// browser history). Relative times ("12 s ago") are computed when the page
// is served; the exact UTC time is in each <time> element's title.
//
// openapi.json is OpenAPI 3.2, so LOOKUP is described where linters and
// documentation tools look for a custom method: the path item's
// "additionalOperations". Writes document the 500 they answer when the
// providers directory cannot be written (read-only, full, removed).
//
// Writes as commits (Options.Commits, the git: section). POST, PATCH and
// DELETE run inside the Committer: the author is the token's (or client
// certificate's) name, the subject "OP code: field, field" names the
// fields the request set (never a value) and a "Trunkd-Fields:" trailer
// repeats them for the history endpoint. The write runs without the
// request's cancellation: a client that hangs up does not stop a push
// half-way. A write re-applied on a moved remote judges If-Match, existence
// and uniqueness again on the new files (412, 404, 409). A PATCH that
// changes nothing makes no commit and is judged on the daemon's copy only.
// The remote's failures answer 503 with Retry-After: 5 (unreachable; the
// message is generic, the cause is logged), 409 (it kept moving) and 502
// (it refused the push). GET …/{id}/history defaults to 100 commits per
// page and lists a human's commits with empty fields. The forges' webhooks
// are authenticated by their own signature or token only (no API token),
// trigger a sync for any verified event, and answer 202; POST
// /rest/v1/git/sync needs a writer. With Options.Changes the status page
// shows under each trunk its file's last commit ("changed 3 h ago by
// alice"), read from git at every view (one git log that stops once every
// file is found); a failure leaves the line out and is logged.
package api
