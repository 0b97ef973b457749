// Package render turns registry snapshots into SIP engine configuration:
// every render target executes its template over the active trunks,
// checks the candidate file, swaps it in atomically, reloads the engine and
// rolls back when the reload fails. A wrong or half-written file takes an
// operator's trunks down, so every step errs on the side of keeping the
// file the engine already runs with.
//
// # File layout
//
// The apply path reads top to bottom in apply.go: execute, compare with
// the live file, drop guard, candidate (files.go), check, journal
// (journal.go) and rename, reload, rollback; per-trunk actions branch off
// to actions.go. What is kept per trunk from one snapshot to the next
// lives in one type in one file (see "Rendering trunk by trunk"):
// trunkoutputs.go (trunkOutputs: per provider its derived *Trunk and each
// target's output of the trunk block). Everything else is plain.
//
// Eight file pairs use each other, all around three types whose methods
// live in the files of their concepts:
//
//   - the Renderer (renderer.go: its fields, New, Run) with apply.go,
//     record.go, status.go, fence.go and ownership.go: those files are its
//     methods, and renderer.go calls them or names their types (Run applies,
//     records, fences and takes a new ownership; New sets up the status;
//     its fields hold the Ownership);
//   - the target (target.go: its fields and rendering) with config.go,
//     which builds it, and status.go, which reports it;
//   - the apply result (apply.go) with actions.go: the per-trunk path is a
//     branch of the apply that returns a result.
//
// No other two files use each other: e.g. fence.go → ownership.go
// (setOwnership fences for a fenced ownership; settleFence records the
// ownership generation an apply reflects), target.go → trunkoutputs.go →
// data.go (Data, Trunk), trunkoutputs.go → diff.go (a target's trunk
// pieces, compared per trunk) → trunkactions.go (the action each changed
// trunk gets), actions.go → target.go (the per-trunk plans use its
// live-file state), program.go → funcs.go → escape.go, journal.go →
// files.go, config.go → trunkactions.go (checks the keys, builds the
// settings), metrics.go → trunkactions.go (the action kinds are its label
// values).
//
// # Data
//
// Templates (built-in ones from package templates, or an operator's file)
// run with missingkey=error over Data: the active trunks (enabled, and of
// the configured server_index when one is set) sorted by code, the subset
// that registers on this node (reg: 1; in a cluster also owned and not
// fenced, see "Cluster"), the target's vars and name. A Trunk carries every provider
// field under its Go name plus the derived values of DESIGN.md §6: AOR user
// (username, else login), digest user (login, else username), both the
// code for a registering trunk with neither (registry.Provider.AORUser),
// next hop (proxyaddr:proxyport with port 0 → 5060, 5061 for tls; else
// domain with no port, so the engine uses DNS), alternative proxies, the hosts inbound
// requests come from, and expires (0 → 600, the registry default). Helper
// functions are documented on funcs: engine escapes, SIP URIs, HA1.
//
// # Rendering trunk by trunk
//
// A template that defines the blocks "header", "trunk" and "footer" (every
// built-in one but kamailio/version) is rendered in pieces: header and
// footer with the whole Data, "trunk" once per active trunk with that
// *Trunk as its only data, and the file is header, the trunks' outputs in
// code order, footer. An optional "number" block gets the number (from 1)
// of each trunk whose "trunk" output is not empty and is written just
// before it (uacreg's row id counts registering trunks only). The main
// template must render the same bytes from the same blocks (the built-in
// ones do, proven by the golden tests and a test that compares both ways
// over a series of real snapshots); it is what an operator who copies a
// built-in template as a start sees.
//
// The renderer keeps, for every provider of the last snapshot, its
// derived *Trunk and each target's output of the trunk block for it
// (trunkOutputs). The registry shares unchanged providers between
// snapshots, so an unchanged file means the very same pointer: its trunk
// and outputs are taken as they are (matched to the last snapshot by a
// merge by code, with no maps; the server_index is fixed). The block sees
// nothing but its trunk and the helper functions, whose only other input
// is the target's vars, fixed for the daemon's life; so a kept output is
// exactly what the block would render again. Outputs belong to one
// template text: a new text (an edited template file) renders every trunk
// again. A trunk whose ownership changed gets a new *Trunk and is
// rendered again. So a snapshot derives and executes only the new and
// changed trunks; the file is the header, the outputs in code order and
// the footer, written over the target's last output (the target
// remembers the live file and the drop guard's names by a 64-bit content
// sum; the per-trunk actions tell the last output by comparing its
// bytes). A changed trunk's older output stays as its last good one until
// its block renders again (see "One trunk's failure"). The price is
// memory: about twice the file's size per target (the kept outputs and
// the output buffer), besides the live file's read buffer.
//
// Each reuse is kept because a benchmark needs it at 10,000 providers
// (issue 16's bound: one edit reaches the reload within 80 ms at p90).
// Figures of a shared 2-core machine under heavy load (load 5-9),
// medians of runs alternating with and without:
//
//   - the derived trunks: deriving all of them takes 21-52 ms
//     (BenchmarkDeriveTrunks10k), keeping the unchanged ones 1.1-4.4 ms
//     (BenchmarkTrunkOutputsOwnership10k);
//   - the block outputs: executing every block takes 120-450 ms, 340-1,050
//     ms for pjsip.conf (BenchmarkRender10k); one change with the kept
//     outputs 2-8 ms (BenchmarkRenderOneChange10k);
//   - one output buffer per target, written over by each render: a new
//     one per render made BenchmarkApplyOneChange10k slower (pjsip.conf
//     41 → 85 ms, uacreg 22 → 31 ms: allocating up to 9 MB and the
//     collections it sets off);
//   - one read buffer per target for the live file: a new one per apply
//     made BenchmarkApplyOneChange10k slower for three of the four
//     templates (gateways.xml 38 → 61 ms, uacreg 22 → 31 ms, pjsip.conf
//     41 → 46 ms).
//
// The file is gathered from the kept pieces on every render, not copied
// in runs from the last output: that would save pjsip.conf's render 2-3
// ms (BenchmarkRenderOneChange10k), within the noise of
// BenchmarkApplyOneChange10k and of the edit → reload figures
// (TestLatencyTable), and it needs a second output buffer.
//
// An operator's template file with these blocks gets the same treatment
// once its blocks rendered the same bytes as its main template, checked on
// the first render of each new text; blocks that do not match are never
// used for that text (the whole template is rendered and a warning logged),
// so a template whose main body does something else stays correct. A file
// without the blocks is rendered as a whole.
//
// # Values never leave their place
//
// Free-form values are escaped for the engine or, where the engine has no
// escape, rejected: db_text escapes \ : newline CR tab NUL; pjsip.conf
// escapes ';' as '\;' and rejects line breaks, NUL and white space at
// either end (the parser strips it); FreeSWITCH XML escapes & < > " ' as
// entities and '$' as &#36; (the pre-processor expands "$${" in the raw
// text) and rejects "${" (channel-variable expansion after parsing) and
// control characters; a pjsip value beginning with '>' is written after
// a space ("key=>x" would read as "key=x"). A trunk code is used as an
// object name (l_uuid, duid, pjsip section, gateway name) and must consist
// of letters, digits, '.', '_', '+', '-'; user parts of SIP URIs must be
// RFC 3261 "user" characters. The registry's validation is the one gate
// (registry package doc, "Values"): every provider it accepts passes these
// checks in every built-in template, which TestGateProperty and FuzzGate
// prove over generated and fuzzed values; the checks here stay as a second
// line for an operator's own template and its vars.
// A rejected value is a template error for that trunk (see "One trunk's
// failure"); the error names the trunk and never contains the value itself.
//
// # One trunk's failure
//
// An operator's template can fail for one trunk (the built-in ones render
// whatever the registry accepts). Such a trunk never stops the others: the
// target renders and applies every other trunk, and the failing one keeps
// its last good output, that is the output its block last rendered (also
// with the template text before an edit), or is left out when it has none
// (a new trunk, a template without blocks, or the first render after a
// start: kept outputs live in memory only). Status lists each such trunk
// under trunk_errors with the reason and whether its output was kept; the
// gauge trunkd_render_trunk_errors counts them; the log says it once when
// the list changes; RenderOnce (trunkd render --once) returns them wrapped
// in ErrTrunkFailed, so a CI pipeline fails. The target stays "ok" and
// renders again with backoff (a fixed template file needs no new
// snapshot). A trunk left out for an error is no removal for the drop
// guard (its name is the trunk's code: with an own trunk_regex whose names
// are not codes, it counts). A template without blocks is tried trunk by
// trunk after a failure: when the template without trunks renders and some
// but not all trunks fail on their own, the others are rendered. A template
// that fails as a whole (header or footer, a syntax error, the trunk block
// for every trunk) fails the target and keeps the live file.
// Providers whose derived values cannot be computed (alternative_proxies,
// pingsrv: the registry validates both) are left out the same way.
//
// # Built-in templates
//
// kamailio/uacreg (Kamailio 5.6–6.1, table version 5): one row per reg: 1
// trunk; l_uuid = code, l_username = r_username = AOR user, l_domain =
// localdomain or else domain, r_domain = domain, realm empty (Kamailio then
// answers any realm; it refuses a mismatch only when realm is set),
// auth_proxy = the next hop as a SIP URI with ;transport for tcp/tls,
// flags 0, contact_addr and socket empty (reg_contact_addr applies). With
// vars auth: ha1 the row holds auth_ha1 = md5(user:domain:pwd) and realm =
// domain instead of the password: this only works when the provider's realm
// is its domain. uac has one auth_proxy per row, so alternative proxies are
// not used for registration. kamailio/version is the fixed version table.
//
// kamailio/dispatcher.list: one destination per trunk (its next hop) and one
// per alternative proxy, duid = code (alternatives add alt=N), all in the
// set of vars setid (default 1): trunkd cannot give a trunk a stable set
// number, so routing per trunk belongs to the operator's script (or their
// own template). Flag 8 (probing) when pingmode is not none; host names get
// flag 16 by default, because a name that does not resolve at reload is
// silently dropped from the list while dispatcher.reload reports success
// (vars skip_dns: "0" turns that off, e.g. for ds_is_from_list by address).
// pingsrv becomes the primary destination's quoted obproxy attribute.
//
// asterisk/pjsip.conf: auth (only when pwd is set), registration (reg: 1,
// retries that never give up: retry 30 s, forbidden/fatal 300 s,
// max_retries 1000000, auth_rejection_permanent=no, line=yes), aor (qualify
// every pingtimeout seconds when pingmode is not none), endpoint (context
// and codecs from vars context, allow; direct_media=yes only for media: 0
// with reinvite: 1) and identify (next hop, alternative proxies,
// extaddrs). Transports are the operator's transport-udp/-tcp/-tls.
// freeswitch/gateways.xml: one <gateway> per trunk; username = digest user,
// from-user and extension = AOR user, realm/from-domain/proxy = domain,
// register-proxy and outbound-proxy = next hop, ping = max(pingtimeout, 5)
// when pinging. Asterisk and FreeSWITCH have no per-trunk CRLF keep-alive,
// so pingmode rn becomes OPTIONS pings there (as for dispatcher), and
// FreeSWITCH has no per-gateway failover list: alternative proxies are
// listed in identify (Asterisk) and dispatcher (Kamailio) only.
//
// # Apply
//
// Targets apply one after the other in config order (kamailio/version
// before kamailio/uacreg). A change renders at once, except within
// MinInterval (1 s) of the target's last reload_cmd: then once when that
// second ends, with the latest snapshot, so a burst of API writes costs
// the engine two reloads, not one per write. Changes applied trunk by
// trunk (or that leave the file as it is) hold nothing back: single edits
// a few hundred milliseconds apart each apply at once instead of waiting
// up to a second behind the previous one (TestKamailioPresetFigures,
// saves 950 ms apart: snapshot → per-trunk action p50 10 ms, max 160 ms).
// A burst still comes as few renders: the
// registry's watcher waits for a quiet window (250 ms, at most 2 s) once
// saves come close together, and snapshots that arrive during a render
// collapse into the latest (TestBurstOfSavesCoalesces: 15 saves, 1–2
// renders). The live file is read (into a buffer the target keeps, see
// "Rendering trunk by trunk") after the template rendered; equal bytes to
// the live file: nothing is written or run, and the target counts as
// successful. Otherwise the candidate is a hidden file next to the output (".<name>.trunkd-*", so engine globs such
// as *.xml skip it), mode 0600 unless mode says otherwise, owned like the
// live file when trunkd runs as root, fsynced, with an mtime that is now
// or, when that is not later in whole seconds, one second past the live
// file's (db_text re-reads a table only when st_mtime grew). check_cmd gets
// the candidate as $1 and TRUNKD_CANDIDATE; commands also get
// TRUNKD_OUTPUT and TRUNKD_TARGET. The rename is atomic and the directory
// is fsynced. Commands run with sh -c in their own process group, killed at
// the timeout or when the daemon stops; the last 64 KiB of their output is
// kept, masked, logged and its tail shown in /status.
//
// Before the rename, a journal next to the output records the apply:
// ".<name>.trunkd.pending" (an apply is unfinished) and
// ".<name>.trunkd.prev", a hard link to the previous good file (a copy
// where links fail). A successful reload ends the journal. A failed reload
// puts the previous good bytes back (mode and owner as before, mtime newer
// still) and runs reload_cmd again; only when that reload succeeds does
// the journal end. So a rollback that fails (a full disk) is repaired by
// the next attempt: it finds the journal, reloads the live file and, when
// that fails, puts the previous good file back. A daemon stopped or killed
// during a reload leaves the journal, and the first render after the next
// start finishes the apply (the same bytes: reload) or undoes it (the
// reload fails: rollback). While a journal is pending, the previous good
// file is the one it holds, not the live file: a second change never
// makes an unconfirmed file "good". When there was no previous file the
// new one stays (a missing file can only keep an engine from starting; it
// may simply not run yet) and its reload is retried on the next attempt.
//
// A failed target is retried with the latest snapshot, and at once on a
// new snapshot (a template file is read again for every render, so a fix
// needs no restart). The wait counts time, not attempts: it is as long as
// the failure has lasted, at least 5 s and at most 5 min, so a burst of
// edits that all fail does not push the next retry out. The attempt after
// a failed reload tries the reload twice before rolling back: an engine
// that fails every other reload would otherwise spend every failure on the
// new file and every success on the rollback. With Kamailio's default
// reg_gc_interval (150 s) a second uac.reg_reload within 150 s fails; the
// retry gets it through, but a lower reg_gc_interval is better.
//
// # Per-trunk actions
//
// With trunk_add_cmd, trunk_change_cmd and trunk_remove_cmd a target
// applies a small change trunk by trunk instead of running reload_cmd
// (Kamailio's uac.reg_reload is rate-limited and re-registers every trunk;
// FreeSWITCH's rescan ignores changed gateways). Which trunks were added,
// changed and removed is found by comparing each trunk's block output
// (without the number block: a uacreg row id that shifts changes nothing
// for its trunk) with that of the live file; a trunk whose block writes
// nothing (uacreg for reg: 0) is not in the file. That comparison needs
// the live file to be the output trunkd applied last (same bytes), so the
// whole-file path (check, journal, rename, reload_cmd, rollback) is taken
// when there is no live file (a first start), after a restart (the first
// change reloads once; the trunks' parts are kept in memory only), for a
// template rendered as a whole, when the header or footer changed, when a
// kind of action the change needs has no command, and when the change
// touches more than trunk_actions_max_share (default 0.2) of the trunks.
//
// Otherwise the candidate is written and checked as always; then each
// removed trunk's action runs while the trunk is still in the live file
// (un-register before it disappears); the journal is written and the file
// renamed into place; then each added and changed trunk's action runs.
// Actions run up to 4 at once, each with the target's timeout, with
// TRUNKD_TRUNK, TRUNKD_ACTION, TRUNKD_OUTPUT, TRUNKD_TARGET and
// TRUNKD_VAR_<NAME> for each var whose name is a valid environment name,
// and TRUNKD_FENCED=1 while the target may be fenced (see "Cluster").
// A non-zero exit, a timeout or output matching reload_fail_regex is a
// failure of that trunk's action only: the file stays (the other trunks'
// actions ran on it, and rolling it back would undo their changes), the
// journal ends, the failure is listed under trunk_action_errors in
// /status (trunk, action, since, message, output tail, masked) and counted
// in trunkd_render_trunk_action_failures_total{target,action}, and the
// action is retried with the target's backoff (as long as the failure has
// lasted, 5 s to 5 min) while the file is unchanged. A later change of
// the same trunk replaces its pending action; a whole-file reload
// replaces all of them (a pending remove included: Kamailio's reg_reload
// then drops the trunk without un-registering it, as without actions).
// RenderOnce returns each failed action wrapped in ErrTrunkActionFailed,
// so a CI pipeline fails.
//
// When the new file cannot be put in place after removals ran (the
// journal or the rename fails), the removed trunks are still in the live
// file: each one that was un-registered gets its add action (it
// registers again), each is listed under trunk_action_errors as a
// removal not applied (saying whether it is registered again), the
// target fails at the write stage, and the next attempt plans the
// removals again.
//
// # Engine presets
//
// engine: kamailio | freeswitch | asterisk fills the per-trunk commands a
// target leaves empty, fence_cmd and unfence_cmd when both are empty
// (see "Cluster"), and reload_fail_regex when empty. The CLI and its
// arguments come from the target's vars: kamcmd (default kamcmd) and
// kamcmd_socket (-s); fs_cli (default fs_cli), fs_cli_args (split into
// words, e.g. "-H 127.0.0.1 -P 8021 -p secret") and sofia_profile
// (default external); asterisk (default asterisk) and asterisk_args.
//
// Kamailio (on the uacreg target): add and change run
// kamcmd uac.reg_refresh <code> after the new table file is in place (it
// re-reads that one l_uuid, which the uacreg template writes as the trunk
// code, and is not rate-limited as uac.reg_reload is), then
// uac.reg_register l_uuid <code>, which sends the REGISTER at once
// (Kamailio 6.0 on). Kamailio 5.x lacks that command ("command ... not
// found" is no failure): its uac timer process sends a refreshed record's
// REGISTER on its next tick, every reg_timer_interval seconds, so a
// change waits up to that long (TestKamailioPresetFigures with 5.6.3 at
// 1,000 trunks, two runs: save → REGISTER p50 0.58–0.66 s, p90
// 0.94–1.03 s, max 1.13–1.20 s, of which the tick p50 0.49–0.57 s, max
// 1.0 s and the refresh 57–196 ms, db_text re-reading the whole table; a
// removal's un-REGISTER is sent at once: delete → un-REGISTER p50
// 22–27 ms, max 39–95 ms, the watcher acting on a removal after its 10 ms
// settle; the provider's registrar in these tests is a second Kamailio,
// auth_db over db_text and usrloc, which counts REGISTERs per trunk and
// holds the bindings the changes leave). That re-read grows with the
// table (TestKamailioRefreshCostFigures: the first uac.reg_refresh after
// the file changed p50 44 ms at 1,000 rows, 350 ms and up to 0.83 s at
// 10,000; 4 ms with the file unchanged), so at 10,000 trunks a change
// takes up to about 2 s to reach the provider with Kamailio 5.x (the
// test's saves come 950 ms apart, at any phase of the timer).
// While the target may be fenced, reg_register is not called: it does not
// heed the fence's uac.reg_active 0, the timer does. remove runs
// kamcmd uac.reg_unregister l_uuid <code>, then uac.reg_disable l_uuid
// <code>, before the row leaves the file (after the un-REGISTER the record
// stays in memory marked registered and would REGISTER again at its
// refresh; a trunk added again with that code is refreshed, enabled).
// kamcmd exits 0 on RPC errors, so output starting with "error" fails.
// The dispatcher.list target keeps its whole-file dispatcher.reload.
//
// The Kamailio preset speaks binrpc through kamcmd, not JSON-RPC
// (jsonrpcs): for the same uac.reg_refresh (TestKamailioControlFigures,
// 200 calls, loaded machine) sh -c kamcmd takes p50 1.8 ms, p90 5.5 ms;
// JSON-RPC from Go over jsonrpcs' unix datagram socket 0.16 / 0.25 ms,
// over HTTP (xhttp) 0.20 / 0.26 ms. The 1.6 ms saved is nothing next to
// the refresh itself (76–194 ms at 1,000 rows) and the registration
// timer (up to 1 s), and failures are told apart as well either way: an
// RPC error is "error: 404 - Record not found" from kamcmd and
// {"error":{"code":404,...}} from JSON-RPC; an engine that is down makes
// kamcmd exit 255 and a socket write or connect fail. JSON-RPC would
// need the jsonrpcs module (and xhttp plus a TCP listener for HTTP) in
// the engine's config, and a second kind of action that is not a shell
// command an operator can read and run by hand.
//
// FreeSWITCH: add runs sofia profile <p> startgw <code>; remove killgw;
// change killgw, waits until sofia xmlstatus gateway <code> says
// "Invalid Gateway!" (killgw is asynchronous; the wait is bounded by the
// timeout), then startgw (rescan ignores changed gateways). Change and
// remove kill only a gateway FreeSWITCH knows (xmlstatus first): one it
// does not know, never started or killed with every other by the fence,
// is gone already, and killgw would answer -ERR for ever. fs_cli output
// with -ERR or a non-zero exit fails.
//
// Asterisk has no per-object reload: add and change run module reload
// res_pjsip.so (unchanged registrations are reused, not re-registered),
// change then pjsip send register <code>-reg (a registration whose own
// object did not change, only its auth, is otherwise reused with the old
// credentials), remove runs pjsip send unregister <code>-reg before the
// sections leave the file; the removed objects stay in Asterisk's memory,
// un-registered, until its next reload. Trunks without a registration
// (reg: 0) skip the register and unregister. Output starting with "No
// such command", "Unable to", "Error" or "Unknown" fails.
//
// Fence and unfence (see "Cluster"): Kamailio kamcmd uac.reg_active 0
// and 1 (while 0, uac's timer sends no REGISTER, refreshes and retries
// included; the records stay in memory and nothing is un-registered;
// Kamailio 5.6 answers "{ omode: 1 nmode: 0 }" and an RPC error begins
// with "error", which fails the action); FreeSWITCH sofia profile <p>
// killgw _all_ (every gateway un-registers and is deleted, so calls
// through them fail while fenced) and sofia profile <p> rescan (starts
// the file's gateways); Asterisk pjsip send unregister *all (also stops
// the retries) and module reload res_pjsip.so, then pjsip send register
// *all (the reload drops registrations that left the file while fenced).
//
// The FreeSWITCH and Asterisk presets are tested against recording
// stand-ins for fs_cli and asterisk -rx that answer as the real CLIs do
// (including -ERR and connection failures): neither engine is packaged
// for the test machine.
//
// # Cluster
//
// In a cluster each active trunk of a group has one owner node, and only
// the owner registers it. Run takes the ownership from Options.Ownership
// (latest wins; an Ownership says Owns(code), Fenced() and its
// Generation()); without that channel the node is alone, owns every
// active trunk, and renders exactly as without a cluster. Trunk.Registers
// is reg: 1 and owned and not fenced, so every part a built-in template
// writes for a registering trunk (uacreg rows, pjsip registration
// sections, FreeSWITCH register=true and its expiry) is written by the
// owner only, while the routing parts (dispatcher destinations, pjsip
// endpoint, aor and identify, the FreeSWITCH gateway itself) are written
// for every active trunk of the group on every node. An operator's
// template does the same by using .Registers and .Registering. A trunk
// whose ownership changed is a changed trunk: it is rendered again and
// applied like any other change, so with per-trunk actions a gained trunk
// is added (Kamailio: its row is refreshed) and a lost one removed before
// its row leaves the file (un-REGISTER first). The drop guard does not
// count trunks this node stopped registering because another node owns
// them (they are still in the snapshot).
//
// With Options.Ownership, Run renders nothing before the first ownership
// arrives: the files the engines run with stay as they are until the
// node knows what it owns (rendering "everything" or "nothing" first
// would register twice or un-register needlessly). Each target records
// the generation of the ownership its live file reflects once an apply
// succeeded (the render was unchanged, or reloaded, or applied trunk by
// trunk with no removal still failing: TargetStatus.OwnershipGeneration);
// SubscribeAppliedOwnership delivers the least over the targets the
// moment it moves. The cluster releases a trunk that moved to another
// node only after this node reported the generation that dropped it, so
// the old owner stops before the new one starts. A failing target holds
// that report back: a trunk then stays with its old owner rather than
// having two.
//
// Fencing. A node that can no longer prove its lease must stop
// registering before another node may take over. Fence runs every
// target's fence_cmd at once (never behind a render in progress or the
// MinInterval throttle), each bounded by 3 s (fenceTimeout), and
// reports each target's outcome in /status ("fence"); it may be called
// from any goroutine and again (the presets are idempotent). A failed
// fence_cmd is retried (250 ms doubling up to 4 s) until it succeeds,
// another Fence comes, an ownership that is not fenced is given, or Run
// returns: the retries run on Run's goroutines (a fence that failed
// before Run started is retried once it runs; without Run, as in trunkd
// fence, nothing is retried); each failure counts in
// trunkd_render_fence_failures_total. A fenced
// ownership calls it too before its render, and that render drops every
// registering part, so the files agree with the stop. When an apply that
// was under way during a Fence ends, the target's fence runs once more
// (FreeSWITCH's startgw of that apply could have come after the fence).
// A target's fence and unfence commands never overlap: a Fence stops an
// unfence_cmd under way (kills it; not counted as a failure) and runs
// the fence after it, so no unfence ends after a fence.
// unfence_cmd runs after the first successful render of an ownership that
// is not fenced and arrived after the last Fence: the file then holds
// the owned trunks only, so no trunk another node took over is activated
// again (running it before the render would let the engine re-register
// the old file's trunks for a moment). A render of the older ownership (a
// new snapshot arriving after the fence) never unfences. After a start
// with Options.Ownership every target with unfence_cmd counts as fenced,
// since a stop hook (systemd ExecStopPost= running fence_cmd) may have
// fenced the engine; a Fence on a node without Options.Ownership stays
// until the next start. A failed unfence is retried with backoff. An
// engine that can start fenced should (Kamailio: modparam("uac",
// "reg_active", 0), proven by TestKamailioStartsFenced): one that
// restarts while its trunkd is dead or fenced then registers nothing
// from its old file.
//
// # Drop guard
//
// The trunks of a file are found by a pattern (built-in per template, or
// trunk_regex; its first group names a trunk). When a render would remove
// more than max_drop_ratio of the names in the live file, it is held back:
// the live file stays and nothing is run (the candidate, written while the
// guard counts, is removed), /status lists the removed names (up to 50),
// trunkd_render_drop_held is 1. The guard compares with the live file, not
// with memory, so an emptied checkout or a wrong mount right after a
// restart is caught too. ConfirmDrop releases exactly the listed removals:
// a render that removes further trunks is held again. confirm_drop: true
// applies every such render with a warning. A file without a pattern
// (kamailio/version, a custom template without trunk_regex) and a missing
// live file are not guarded.
//
// Counting is kept cheap at 10,000 trunks without trusting memory for the
// live file: the names of the last two files seen are remembered with
// their content, and the live file's bytes are compared with it (it is
// usually the previous output). The names of a block-rendered output come
// from its pieces (each trunk's piece is scanned once while it is
// unchanged), which finds exactly what scanning the file finds as long as
// every piece but the last ends a line; when one does not, the file is
// scanned. The names of the file just applied are found right after its
// reload, so that the next change does not wait for them.
//
// # Visibility
//
// Status lists per target its state (pending, ok, failed, held_back), the
// snapshot generation, active trunks of the last success, last success,
// last change, last error (time, stage, message, output tail) and the next
// retry; the last error stays after a later success, state tells the
// present. Passwords (raw, escaped for each engine, and as HA1) are
// replaced by *** in command output and messages before they reach the
// log or /status. A password of 8 bytes or more is masked wherever it
// occurs; a shorter one only where it stands as a whole value (next to
// the text's start or end, white space or punctuation other than
// "_-.+~%" and backslash), so that with passwords "a" or ">" a message
// stays readable and a mask never shows where inside a word a password
// is ("auth_password: a" and a db_text field ":a:" are masked; a short
// password inside a longer word is not told apart from the word). The
// renderer keeps the passwords of the providers in force plus those that
// left the providers but may still be in a live file: they are forgotten
// once every target is ok with a later snapshot and keeps no trunk's
// older output, so memory does not grow with every password ever set.
// New passwords are learned from the providers that changed; the masks
// are rebuilt when next used, not on the way from a change to its reload. Metrics: see docs/metrics.md.
package render
