// Package sipcheck probes every active trunk over SIP with one shared sipgo
// user agent: a registration check per expires (REGISTER with digest auth)
// and OPTIONS or CRLF pings per pingmode. It keeps a live state per trunk
// (Prober.State, served by the API), a summary (Prober.Status) and the
// Prometheus metrics of DESIGN.md §7. CheckOnce is the one-shot check of
// `trunkd probe`; package fakeprovider is the registrar its tests run against.
//
// # Layout
//
// Top down: prober.go keeps one trunk per active provider (reconcile,
// shutdown, State, Summary). trunk.go is the trunk and its life (create,
// stop, un-register); schedule.go its timers (start, runReg, runPing, next
// delays); record.go keeps its state: outcomes into state, metrics and log,
// and the State the API reads. register.go and ping.go run the exchanges;
// request.go builds the requests and classify.go turns answers into
// outcomes, both pure functions; digest.go answers challenges. state.go
// holds the API's types and state names. Below them engine.go (the sipgo
// user agent), answer.go (one transaction), keepalive.go and framing.go
// (CRLF keep-alives), resolve.go; package sipconn closes stream
// connections at shutdown; ownership.go follows the cluster's ownership
// (which trunks bind here) and fence.go stops every binding's refreshes at
// once when the node fences. The trunk's, the engine's and the prober's
// methods live in the files of their concepts and refer to the type's file;
// the type's file calls back into them only to create and stop (newSession,
// registerAt for the un-REGISTER, the keep-alive read filter, following the
// ownership, the fence): the four file pairs that refer both ways are
// these, by design: trunk.go and register.go, engine.go and keepalive.go,
// prober.go and ownership.go, and prober.go and fence.go (Run reads the
// fence state when it takes an ownership; reconcile replaces a trunk
// whose refreshes the fence stopped and stops a new trunk's when a Fence
// came meanwhile). A trunk's fields say who owns them: set at creation; the registration goroutine's (the REGISTER
// session and where our binding is); or guarded by its mutex.
//
// # Semantics decided here (where DESIGN.md §6 and the issue are silent)
//
// Transport. One UA and one UDP socket bound to probe.listen: every UDP
// request leaves from it and every answer returns to it. TCP and TLS are
// dialled from the listen IP on an ephemeral port (sipgo pools connections
// by remote address; a fixed local port would make it reuse one connection
// for every peer) and stay open for the next checks. Via and Contact carry
// probe.advertise (default: the listen address; for 0.0.0.0 or :: the
// address of the interface with the default route). The Contact of bind
// mode is always the UDP socket (;transport=udp), also for registrations over
// TCP/TLS; the prober answers OPTIONS sent there with 200 (other methods get
// sipgo's 405). Every transaction has a deadline of probe.timeout (2 s: three
// UDP transmissions at 0, 0.5 and 1.5 s), a ping at most its pingtimeout;
// sipgo's global timers are never changed.
//
// Addresses. REGISTER goes to sip:<domain> (R-URI) via the target; OPTIONS
// to sip:<target host:port>. Host names are resolved by the prober with a
// cache (60 s, failures 5 s, IPv4 first, no SRV/NAPTR) so that 10,000 trunks
// of one provider do not resolve per ping; TLS targets are left to sipgo so
// that the certificate is checked against the host name. From is the AOR;
// for pings of a trunk without username, sip:trunkd@<localdomain or our host>.
//
// TLS. The one UA has one TLS client config: TLS 1.2 or later, roots from
// probe.tls_ca_file (a PEM bundle; unset: the system roots; a file that
// cannot be read or holds no certificate is a config error). The server
// name verified is the host of the target dialled — proxyaddr, domain, an
// alternative proxy or pingsrv, as written — not the R-URI's domain: a trunk
// that sends to a provider's proxy checks the proxy's certificate, the hop
// it talks to. A target written as an IP is verified against
// the certificate's IP SANs, so write the name the certificate carries.
// sipgo pools TLS connections by remote IP:port, so trunks whose targets
// resolve to the same address share the first connection's verification.
// A rejected certificate fails the check like a transport error (local
// 503, failing, retried with backoff, never given up) with the reason
// "transport error: TLS verification failed: <why>".
//
// Failover. Targets are proxyaddr:proxyport (or domain) and then
// alternative_proxies in order. Every registration check starts at the
// primary (fail-back) and moves to the next target when one does not answer
// or answers 503 while another is left. Pings without pingsrv go to the
// current target (the one that last answered a REGISTER) and move to the next
// one after a ping that failed; pingsrv has no failover and uses the trunk's
// transport. State.Target names the current target.
//
// Registration. query mode sends no Contact and no Expires (unless a 423
// asks for one) and counts as registered when the credentials are accepted
// (2xx); the listed bindings are reported (trunkd_provider_bindings) — zero
// means the SIP engine holds no registration.
//
// Engine binding. The prober's own success does not prove that the SIP
// engine is registered: a registrar offering only SHA-256 digest accepts
// sipgo's answer while Kamailio 5.6's uac (MD5 only) cannot register at
// all. State.Registration.EngineBinding says present when the last 200
// listed a binding besides the prober's own, missing when it listed none,
// unknown before the first 200; trunkd_provider_engine_bindings counts them
// and the alert TrunkdTrunkEngineNotRegistered fires after 15 minutes of
// registered with 0. Limits: the prober does not know the engine's
// Contact, so any other client of the same account counts as the engine;
// a registrar that lists no contacts in its 200 always reads missing; an
// engine that lost its binding shows only at the next check (up to
// expires later). The check repeats every expires
// seconds minus up to 10 % (expires 0: every 600 s). bind mode asks for
// expires (0: no Expires header, the registrar decides), takes the granted
// time from our Contact's expires, else the Expires header, else the request
// (3600 when none), and refreshes at 70-80 % of it. A trunk prober keeps one
// Call-ID and From tag and raises CSeq by one per request (digest answers
// included); a restarted prober starts a new Call-ID. On removal, disable or
// a SIP-relevant edit the binding is removed (Expires: 0, within 3 × timeout)
// — only at the target whose last 2xx granted it (a trunk rejected or never
// answered holds none; a rejection there forgets it, since an un-REGISTER
// with refused credentials would be refused too), and a 423 to the
// un-REGISTER is not retried with Min-Expires (that would register again);
// at shutdown all bindings are removed within a shared 5 s grace, 256 at a
// time. A binding left on a target we failed over away from expires by itself.
//
// Answers. 401 and 407 are answered once each (a proxy and then the
// registrar may both challenge); the same challenge again means the
// credentials are wrong (state rejected, "credentials refused") unless it
// says stale=true, which is answered once more. 2xx: registered. 401, 403,
// 404, 407: rejected, retried after 5 min doubling to 30 min. 423: retried at
// once with Min-Expires (twice at most; the raised value is kept). 503: the
// next target, else retried after Retry-After (cut to 1 h, plus up to 10 %
// and at most 5 s) or, without it, like a failure. Other answers (3xx are not
// followed), timeouts and transport errors: failing, retried after 5 s
// doubling to min(5 min, expires). Backoffs take a uniform draw from their
// upper half. The prober never gives up. A timeout is reported as 408 and a
// transport error as 503, as RFC 3261 §8.1.3.1 has the client assume; the
// reason says that the code is local.
//
// Pings. One every pingtimeout seconds minus up to 5 % (per-trunk jitter),
// anchored on when it was due so that a loaded host does not stretch the
// interval: a peer is down at most down_after × pingtimeout + timeout after
// its last answer. options: alive per probe.alive_codes. rn over TCP/TLS:
// a double CRLF on the connection sipgo uses for the target, alive when a
// CRLF comes back between two SIP messages (the prober follows each
// connection's framing, so a pong counts wherever it sits in a read: alone,
// before, after or between answers); trunks sharing a connection share one
// keep-alive in flight. A peer that ignores a double CRLF arriving in the
// same read as a request (sipgo's own server does) shows as down. rn over UDP: sent from the socket, not measured
// (ping state unknown). Reachability comes from measurable pings, else from
// REGISTER answers (any answer proves the peer), else it stays unknown. The
// log line of a change names the method, status code and reason it was
// derived from. The
// hysteresis (down_after, up_after) starts from unknown.
//
// Metrics and state. A value that is not known has no series: before a
// trunk's first check, trunkd_provider_registered of reg 0 trunks,
// trunkd_provider_reachable while unknown. A trunk's series are deleted when
// it stops or restarts (a new code moves them). trunkd_sip_requests_total's
// result is the final code, timeout, transport_error, pong or sent (requests
// canceled by a stop are not counted). Failures log at warn, recoveries at
// info, the first success after start at debug. At debug level every SIP
// exchange is logged with the Authorization and Proxy-Authorization response
// values masked; pwd never appears in logs, state, status or metrics.
//
// Timing. Every check time is rounded up to the next 10 ms, so that trunks
// due together fire in one runtime wake-up (this halves the CPU per ping at
// 1,000 pings per second); nothing ever fires early.
//
// Reconcile. Every snapshot is applied in full: trunks no longer active stop,
// trunks whose SIP-relevant fields changed (code, username, login, pwd,
// domain, proxyaddr, proxyport, transport, alternative_proxies, reg, expires,
// pingmode, pingsrv, pingtimeout, localdomain) restart with a fresh state,
// others go on untouched. Each first check (REGISTER and ping count one each)
// takes a slot of probe.max_new_per_second: a new trunk is checked at once,
// and up to 5 × that many first checks start within 5 s.
//
// Shutdown. TCP and TLS connections are closed socket first, before the
// user agent, so that sipgo v1.7.3 does not log "TCP ref went negative" for
// each one (package sipconn explains its reference counting).
//
// One-shot. CheckOnce (trunkd probe) checks a trunk whether or not it is
// active, from the listen host on a free port (it can run next to the
// daemon), with up/down after one ping, and removes a bind-mode binding again.
//
// Cluster. With Options.Ownership (a cluster; the Ownership shape is the
// one package render consumes) the prober's own binding follows
// ownership: in bind mode a trunk is bound only by the node that owns it
// and is not fenced; on every other node of its group it is checked in
// query mode (REGISTER without Contact: the credentials and the bindings
// are seen, nothing is added), and State.Registration.Mode says which. A
// trunk whose binding changes restarts, like a SIP-relevant edit: one
// that lost its binding un-REGISTERs (Expires: 0, within 3 × timeout)
// before Status.OwnershipGeneration reports that ownership (and
// SubscribeAppliedOwnership delivers it, as render's does), so the
// cluster releases the trunk to its new owner only after this node's
// binding is gone (or its removal was given up, when it expires by
// itself). Before the first
// ownership a cluster node binds nothing. Fence (the daemon calls it the
// moment its node fences, next to the engines' fence action) stops every
// binding's refreshes at once, even while Run is busy stopping trunks;
// the bindings are removed when Run follows the fenced ownership. Query checks and pings run on
// every node of the group for every active trunk: each node routes calls
// to every trunk, so reachability from each node is what matters, and a
// query REGISTER never competes with the owner's registration. Without
// Options.Ownership the node is alone and binds every trunk in bind mode.
package sipcheck
