// Package importer reads the trunks of an existing SIP engine
// configuration — Asterisk pjsip.conf or FreeSWITCH sofia gateway XML —
// and turns them into provider files, for `trunkd import` (see
// docs/migrating.md). It is the inverse of the asterisk/pjsip.conf and
// freeswitch/gateways.xml templates: importing their output gives back
// providers that render to the same files (TestRoundTrip).
//
// Every trunk goes the registry's strict path: a registry.Provider built
// from registry.Default(), checked by registry.Validate, encoded as YAML,
// re-read by registry.Parse and compared before the file is written. What
// cannot be mapped is never dropped silently: it becomes an Issue with the
// source file and line — Error (the trunk, or a construct such as
// #include, was not imported; `trunkd import` exits 1), Warning
// (something was dropped or adapted, the trunk was imported) or Note (a
// setting a provider does not carry, usually one the templates write
// themselves). Issues name keys, sections and variables, never a value
// that may be a secret.
//
// # Asterisk pjsip.conf
//
// The file is read as Asterisk's config parser reads it: ";" starts a
// comment unless written "\;", ";--" … "--;" is a nested block comment,
// white space around names and values is stripped, "=>" is "=", a
// section "[name](tpl1,tpl2)" starts with the options of the named
// sections, "(!)" marks a template (not an object) and "(+)" adds to the
// section of that name. Several files may be given; objects link across
// them. "#include" and "#exec" are not followed (Error: give the included
// file too), type=wizard objects are not expanded (Error), two objects of
// one type and name are ambiguous and neither is imported (Error).
//
// Objects link the way Asterisk links them: endpoint.aors → aor,
// endpoint.outbound_auth → auth, registration.endpoint → endpoint,
// registration.outbound_auth → auth, identify.endpoint → endpoint. A
// registration without endpoint= is linked, with a Warning and a comment
// on reg, to the endpoint of the same name, else to the only endpoint
// with the same outbound_auth, else to the endpoint named like it without
// a -reg/_reg suffix; a registration linked to nothing is an Error. An
// endpoint is a trunk when a registration, an outbound_auth, an identify
// or an aor with a static contact belongs to it; other endpoints (phones,
// dynamic peers) are skipped with a Note.
//
//	code        the endpoint's name
//	enabled     1 (the engine file has no switch; only live trunks are in it)
//	username    client_uri user, else from_user, else contact_user (guess)
//	login       the auth's username (always written, even when it equals username)
//	pwd         the auth's password; auth_type=md5 or md5_cred/password_digest
//	            without password is an Error (a hash cannot be reversed)
//	domain      client_uri host, else from_domain, else server_uri host
//	            (guess), else the aor contact host (guess)
//	proxyaddr   outbound_proxy host (the registration's, else the aor's, else
//	proxyport   the endpoint's; differing ones are a Warning), else the
//	            server_uri (or, without registration, the contact) when its
//	            host is not the domain or its port is not the default (guess)
//	transport   protocol= of the named type=transport section, else a
//	            ;transport= parameter (sips: → tls) of server_uri, client_uri,
//	            outbound_proxy or contact, else a word of the transport's name
//	            ("transport-tcp", guess), else udp (guess); ws, wss, sctp or any
//	            other protocol is an Error
//	reg         1 when a registration belongs to the endpoint
//	expires     expiration, Asterisk's 3600 when absent (comment), clamped to
//	            60-86400 (Warning)
//	pingmode    options with pingtimeout = the aor's qualify_frequency (clamped
//	pingtimeout to 1-3600); none without qualify. An rn (CRLF) trunk renders as
//	            qualify too, so it comes back as options.
//	extaddrs    every host of the identifies' match= lists except the next
//	            hop (proxyaddr, else domain), which trunkd matches anyway; a
//	            /32 or /128 prefix is its address, a network is a Warning
//	media       direct_media=no → media 1, reinvite 0 (comment); absent or
//	reinvite    yes → the defaults 0 and 1
//	serveridx   --server-index (else 0 with a comment)
//	id          registry.DeriveID(code), written so that it survives a rename
//
// # FreeSWITCH gateways
//
// Gateways are read wherever they are: an <include> file of
// sip_profiles/external/, a whole profile (<gateways>, <settings> is a
// Note), params directly under <gateway> or in <params>. Pre-processor
// references $${name} are resolved from <X-PRE-PROCESS cmd="set"> lines
// of the given files and of --vars files (vars.xml), on the raw text as
// FreeSWITCH does ("&#36;&#36;{" is no reference); a reference nobody
// sets is an Error naming the variable — the value is never guessed. A
// runtime ${name} in a used param is an Error too. X-PRE-PROCESS include
// is not followed (Error). Two gateways of one name: neither is imported
// (Error). Defaults are FreeSWITCH's (sofia.c).
//
//	code        the gateway's name
//	reg         register (default true; switch_true words)
//	username    from-user, else username (FreeSWITCH's AOR user)
//	login       auth-username, else username (the digest user)
//	pwd         password; a registering gateway without username or
//	            password is an Error, as in FreeSWITCH
//	domain      from-domain, else proxy host, else realm, else the gateway
//	            name when it is a host name (comment)
//	proxyaddr   register-proxy, else outbound-proxy (comment), else proxy
//	proxyport   when its host is not the domain or its port is not the default
//	transport   register-transport, else ;transport= (or sips:) of the
//	            proxies, else udp (comment); anything but udp/tcp/tls is an Error
//	expires     expire-seconds, FreeSWITCH's 3600 when absent or below 5
//	            (comment), clamped to 60-86400 (Warning)
//	pingmode    options with pingtimeout = ping when ping >= 5 (FreeSWITCH
//	pingtimeout ignores smaller values: Warning)
//
// realm differing from the domain is a Warning (the template writes
// realm=domain). FreeSWITCH carries no inbound addresses, media or
// re-INVITE settings: extaddrs, media and reinvite keep their defaults.
//
// # Settings a provider does not carry
//
// Options the built-in templates write themselves (pjsip retry_interval,
// max_retries, line, qualify_timeout, disallow, auth_type; FreeSWITCH
// extension, retry-seconds, ping-min, ping-max) are silent when the source
// has the template's value and a Note otherwise. context and allow are
// Notes that name the render target var (vars.context, vars.allow) to set.
// Any other option is a Warning naming the key (not its value). realm of
// an Asterisk auth is a Note: trunkd and the templates answer the realm
// the provider challenges with.
//
// # Output
//
// One file per trunk, named by registry.FileName(code) (the code when it
// is a safe file name, else a sanitised name with a hash of the code;
// never hidden, never a path), mode 0600 (it holds a password), written
// atomically and never over an existing file unless WriteOptions.Force; a
// code that another provider file in the directory already defines is
// refused even with Force. The file starts with a comment naming the source objects
// (file base name and line, no directory), then every field in the seed's
// order except ext (the daemon keeps it); a value that was guessed,
// defaulted from the engine or clamped carries a comment saying so.
//
// # File layout
//
// import.go's Import dispatches to a format's entry (Asterisk in
// asterisk.go, FreeSWITCH in freeswitch_trunk.go); source.go declares
// their inputs, Source and Options. pjsipconf.go and freeswitch.go parse
// the files; asterisk.go collects and links the pjsip objects. trunk.go
// holds what both formats share: Trunk, Result and the draft a trunk is
// built in (its issues, the expires and ping clamps, validation); issue.go
// declares Issue, uri.go parses SIP addresses, yaml.go and write.go encode
// and write the files. Each format's trunk type (asterisk_trunk.go,
// freeswitch_trunk.go) has its key checks and transport rules in files of
// their own (asterisk_keys.go, asterisk_transport.go, freeswitch_keys.go)
// that use the type's fields while the type's file calls them, and
// asterisk.go hands each endpoint to asterisk_trunk.go, whose type uses
// asterisk.go's objects: those four file pairs refer both ways by design
// (a type and its methods in the files of their concepts).
package importer
