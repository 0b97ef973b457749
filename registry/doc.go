// Package registry owns the provider model and its one source of truth: a
// directory of YAML files, one provider per file.
//
// The path from bytes to a valid Provider is strict and single: the YAML is
// decoded with known keys only (every key's line is kept), defaults fill the
// absent fields, then Validate checks every rule. Errors name the file, the
// line and the field: "providers/acme.yaml:7: transport: must be one of udp, tcp, tls".
//
// A Registry scans the directory, keeps the last good version of every file,
// and publishes an immutable, indexed Snapshot with a generation number.
// Readers load the current snapshot without locks; subscribers receive every
// new snapshot, the latest winning when they are slow. The watcher treats
// fsnotify events as hints, debounces them and rescans. Writes (Create,
// Update, Delete) go to the files atomically and are in the snapshot when
// they return. An Update replaces only the bytes of the changed values in
// the file (new fields are added at the end of their mapping), so every
// untouched line stays byte-identical: alignment, comments, quoting. Where
// a value cannot be located in place it re-encodes the node tree, which
// keeps comments and key order. Either way the new content is parsed back
// before it replaces the file and must read as exactly the intended
// provider; an edit of a value shared through a YAML anchor is refused
// (AnchorError, a conflict) rather than silently changing its aliases.
// YAML merge keys (<<) are refused when the file is read, with a message
// that says to write the fields out.
//
// Problems of one file are reported all at once (an unknown key does not
// hide a bad value), sorted by line, at most MaxProblemsPerFile of them
// and then how many more. trunkd validate and the git hook judge files
// with a Checker, as the daemon does; errors of writes name the file, never
// the providers directory, because they reach API clients.
//
// # One update path
//
// Every change takes the same way: a rescan (rescan.go: list or the hinted
// names, scanFile per file in parallel) or a store write (commit) yields
// file states; apply records them and returns the files whose provider or
// problems changed; publish turns those into the next snapshot. Splicing a
// few changed files into the current snapshot (snapshot_delta.go) is an
// optimisation inside publish with the result of a full rebuild
// (TestWithFileMatchesRebuild). The snapshot's indexes are persistent
// 128-shard maps (index.go): a one-provider change copies two shards of
// about n/128 entries and the sorted slice of pointers, not two maps of n.
//
// # File layout
//
// registry.go is the hub: the Registry struct holds the state every other
// file works on (the lock of health.go, the file states of scan.go, the
// pending writes of groupcommit.go), and Open and Reload run rescan.go's
// rescan. Those files use Registry's fields, and registry.go names their
// types in its struct or calls them: four file pairs refer both ways, all
// of them through registry.go, by design (a type and the methods of one
// concept each in its own file). Everything else refers one way:
// store.go → groupcommit.go → errors.go, rescan.go → publish.go →
// snapshot_delta.go → snapshot.go → index.go, validate.go → address.go.
// registry/yamlsplice (locating a YAML value's bytes) is used by splice.go
// and by registry/sops; registry imports registry/sops for its typed error
// (secrets.go), never the other way. registry/feed (the latest-wins
// subscription) carries the snapshots of publish.go, as it carries
// registry/cluster's Views.
//
// # Watching
//
// fsnotify reports plain events; fsnotify v1.10.1 does not export its
// close-write op, so on Linux a second small inotify reader
// (savewatch_linux.go) reports finished saves (IN_CLOSE_WRITE, IN_MOVED_TO)
// and removals (IN_DELETE, IN_MOVED_FROM), in the kernel's order. A finished
// save or removal is rescanned after 10 ms of quiet: no
// writer holds a name that is gone, and a removed trunk should un-register
// as soon as a changed one registers. The same name created again before
// that rescan (IN_CREATE: a writer holds it now), or a rename to a name
// that is not a provider file (a.yaml → a.yaml~: vim's and emacs' backup
// step before they write the file anew) withdraws the removal, so an
// editor's save never publishes a snapshot without the provider, however
// long it pauses between its steps. Plain events (a writer that still holds
// the file) wait for Options.Debounce (250 ms), at most MaxWait (2 s).
// Residual: a tool that unlinks or moves a file out of the directory and
// creates it again more than 10 ms later publishes the removal in
// between, as it asked for; renaming a.yaml to a.yaml.disabled counts as a
// backup step and waits for the quiet window; an rm -rf of the directory
// that the machine pauses for longer than 10 ms may publish part of its
// removals before the directory is gone (a gone directory keeps the last
// snapshot): render's drop guard holds a render that removes more than
// max_drop_ratio of a file's trunks.
// A save within Debounce of the last published change counts as part of a
// burst and waits for Debounce too, so a git checkout of hundreds of files
// gives one or two snapshots whatever the pauses of a loaded machine. The
// backstop rescan (Options.Resync) stats every file and reads only those
// whose inode, size, mtime or ctime moved (0.03 CPU-s at 10,000 files);
// Open and Reload read and hash every file.
//
// # Group commit
//
// Store writes are committed in groups (groupcommit.go): each write is
// prepared under the registry lock and reserves its file name, id and
// codes; it writes and fsyncs its temporary file without any lock; then
// the first writer to get the commit token puts every queued write in
// place, fsyncs the directory once and publishes one snapshot for all of
// them. A writer still returns only when its change is durable and in the
// published snapshot; a write that needs a reserved name, id or code waits
// for the pending write and is prepared again (its change or check
// function may run twice); a per-file failure fails that write only.
//
// # Figures (10,000 providers, 2 shared cores, loaded machine)
//
// A git checkout switching 300 files reloads each of the four engine
// templates once, at most twice under load (cmd/trunkd
// TestGitCheckoutReloads). An API POST+DELETE pair of one client issues
// the three fsyncs the bound of `make bench-latency` assumes (strace -f -c
// on the daemon: 603 fsyncs for 200 pairs, the other 3 the render's
// output): the new file before its link into place, the directory after
// it, the directory after the removal. With one client it stays at about
// half of that bound: the daemon's CPU per pair on the serial path
// (validation, encoding and parsing back, publishing, the render's
// throttled re-render, HTTP) comes on top of the three fsyncs in a row,
// which the bound's bare fsync loop does not pay. With 4 and 16
// concurrent clients group commit shares the directory fsyncs and the
// snapshots (docs/design.md has the daemon's figures):
// BenchmarkCreateDelete10kParallel, 16 writers, 1,048-1,446 pairs/s
// against 695-902 without group commit (three alternating runs, load
// 1.1), 2.0-4.5 writes per snapshot; strace -f -c counts 291 fsyncs for
// its 201 pairs (a temporary file each, 90 directory fsyncs) against 3
// per pair one at a time. One writer is unchanged (802-963 pairs/s).
//
// # Values: one gate
//
// Whatever the registry accepts, from a file or through the API, renders
// with every built-in template (proven by render's gate property test and
// fuzz target). Per field, the rule is tightened where an engine cannot
// take a value, and the engines' own escapes (render/escape.go) carry the
// rest:
//   - Every string field: valid UTF-8; no control character (C0 including
//     TAB, CR, LF and NUL; DEL; C1 including NEL; U+2028, U+2029); no "${"
//     (FreeSWITCH expands it as a channel variable and has no escape for
//     it). Every string field but opts.title and opts.comment: no white
//     space at either end (Asterisk strips it, and "Oktell " would look
//     like "Oktell").
//   - code: 1-64 ASCII letters, digits, '.', '_', '+', '-', starting with a
//     letter or digit. It is the trunk's object name in every engine (pjsip
//     section, FreeSWITCH gateway, Kamailio l_uuid and duid), a metric label
//     and the file name; look-alikes (U+00A0, U+200B) and spaces are refused.
//   - username: the user part of a SIP URI (RFC 3261: letters, digits,
//     -_.!~*'()&=+$,;?/ and %HH escapes). login: no '"' or '\' (it is a
//     quoted digest username), and the SIP URI user rule when username is
//     empty (login is then the AOR user).
//   - reg: 1 with neither username nor login registers as the code: the
//     AOR and digest user are the code (Provider.AORUser, AuthUser), which
//     the code rule keeps a valid SIP user. The README's POST example is
//     such a provider.
//   - pwd, opts: free text under the shared rules; ';', '>', '$', quotes,
//     '&', '<' and the like are escaped by each engine's escape.
//   - id: a UUID, compared and stored in lower case: a file or API body may
//     write it in any case, lookups ignore case, and an id that differs
//     from another only by case is a duplicate (409 through the API).
//   - Hosts (domain, proxyaddr, localdomain, pingsrv, extaddrs,
//     alternative_proxies): IsHost, which admits only characters that are
//     safe in SIP URIs and every engine's syntax.
//     Ports are decimal 1-65535 without sign or leading zero, and a ':'
//     must be followed by one ("sbc.example:" is refused).
//   - Types as JSON sees them, so that examples/schema agrees: an integer
//     field takes an integral float (enabled: 1.0, expires: 6e2), at most
//     2^40; code, username, login, pwd, opts and id take an unquoted
//     integer as the text written (login: 3528769); a boolean or decimal
//     number in a text field, or a number in a host or enumeration field,
//     is refused ("quote it").
//
// Decisions where the contract is silent:
//   - ext.lwt of a write is the time of the write; only when the stored
//     lwt is less than a second ahead (two writes in one tick) is it moved
//     on by 10 ms instead, so a lwt far in the future (a wrong clock, a
//     hand edit) does not stick. ext.ct never changes.
//   - Changing the id through an update is refused with the contract's
//     words, "id is prohibited for modification".
//   - A file without id gets DeriveID(code), a name-based UUID; the file is
//     not rewritten. A file without ext gets ext.ct = ext.lwt = its mtime,
//     clamped to now (a file stamped in the future claims no future write);
//     a touch moves them, seen through the watcher's attribute event.
//   - Only regular files are read (symlinks are followed, for ConfigMaps),
//     never blocking: checked before the open, opened with O_NONBLOCK and
//     checked again on the descriptor. A name that exists but cannot be
//     read (a dangling symlink, a symlink loop, a FIFO, no permission, more
//     than MaxFileSize bytes) keeps its last good version and is listed in
//     Invalid; only a name gone from the directory removes its provider.
//   - Temporary files of interrupted writes older than a minute are removed
//     on Open and at every backstop rescan of the running watcher.
//   - Healthy fails while a rescan or write holds the registry (or a write
//     its file system work done outside the lock) longer than
//     Options.StuckAfter; /healthz is meant to use it.
//   - An update keeps the provider in its file even when its code changes, so
//     that git history stays with the file.
//   - Two files with the same code or id: the first by file name wins, the
//     other is reported as invalid.
package registry
