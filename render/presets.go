package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// enginePreset is the per-trunk actions and failure pattern of one
// engine (TargetConfig.Engine). The commands are shell scripts over the
// action environment; the engine's CLI and its arguments come from the
// target's vars (see the package doc, "Engine presets").
type enginePreset struct {
	add, change, remove string
	fence, unfence      string // stop every registration at once; register again
	failRegex           string // output that means failure although the CLI exited 0
}

// kamcmdPrelude runs kamcmd ("kamcmd" var, default kamcmd) with
// "-s <kamcmd_socket>" when that var is set.
const kamcmdPrelude = `k="${TRUNKD_VAR_KAMCMD:-kamcmd}"
set --
if [ -n "$TRUNKD_VAR_KAMCMD_SOCKET" ]; then set -- -s "$TRUNKD_VAR_KAMCMD_SOCKET"; fi
`

// kamcmdRefresh re-reads the trunk's record from the table file, then
// asks Kamailio to REGISTER it at once: uac.reg_register (Kamailio 6.0
// on) sends at once; without it (5.x answers "command ... not found")
// the refreshed record REGISTERs on the next reg_timer_interval tick.
// While the target may be fenced (TRUNKD_FENCED) it is not asked:
// reg_register does not heed uac.reg_active 0, the timer does.
const kamcmdRefresh = kamcmdPrelude + `out=$("$k" "$@" uac.reg_refresh "$TRUNKD_TRUNK" 2>&1); rc=$?
printf '%s\n' "$out"
case "$rc:$out" in 0:error*) exit 0;; 0:*) ;; *) exit $rc;; esac
if [ -n "$TRUNKD_FENCED" ]; then exit 0; fi
out=$("$k" "$@" uac.reg_register l_uuid "$TRUNKD_TRUNK" 2>&1); rc=$?
case "$out" in *"command uac.reg_register not found"*) exit 0;; esac
printf '%s\n' "$out"
exit $rc
`

// fsPrelude defines fs CMD: fs_cli ("fs_cli" var) with the words of
// "fs_cli_args" and -x CMD; a non-zero exit or "-ERR" fails the action.
// p is the sofia profile ("sofia_profile" var, default external); gone
// says whether FreeSWITCH knows no gateway g (never started, killed, or
// all killed by the fence): change and remove kill only a known one.
const fsPrelude = `f="${TRUNKD_VAR_FS_CLI:-fs_cli}"; p="${TRUNKD_VAR_SOFIA_PROFILE:-external}"; g="$TRUNKD_TRUNK"
fs() {
	out=$("$f" $TRUNKD_VAR_FS_CLI_ARGS -x "$1" 2>&1); rc=$?
	printf '%s\n' "$out"
	if [ $rc -ne 0 ]; then exit $rc; fi
	case "$out" in *-ERR*) exit 1;; esac
}
gone() { "$f" $TRUNKD_VAR_FS_CLI_ARGS -x "sofia xmlstatus gateway $g" 2>&1 | grep -q "Invalid Gateway"; }
`

// astPrelude defines ast CMD: asterisk ("asterisk" var) with the words
// of "asterisk_args" and -rx CMD; reg is the trunk's registration
// object when the live file has one (trunks with reg: 1).
const astPrelude = `a="${TRUNKD_VAR_ASTERISK:-asterisk}"
ast() {
	out=$("$a" $TRUNKD_VAR_ASTERISK_ARGS -rx "$1" 2>&1); rc=$?
	printf '%s\n' "$out"
	if [ $rc -ne 0 ]; then exit $rc; fi
}
reg=""
if grep -qxF "[$TRUNKD_TRUNK-reg]" "$TRUNKD_OUTPUT" 2>/dev/null; then reg="$TRUNKD_TRUNK-reg"; fi
`

// presets are the built-in engines.
var presets = map[string]enginePreset{
	// uac.reg_reload re-registers every trunk and is rate-limited; a
	// refresh re-reads one l_uuid (the trunk code) from the table file
	// (then reg_register sends it at once where Kamailio has it), and
	// un-register sends REGISTER with Expires: 0 (reg_remove alone
	// would drop the record silently) but leaves the record in memory
	// marked registered, so that it would REGISTER again at its next
	// refresh: it is disabled too (a trunk added again with the same
	// code is refreshed from the file, enabled). kamcmd exits 0 on RPC
	// errors and prints "error: <code> - <reason>".
	"kamailio": {
		add:    kamcmdRefresh,
		change: kamcmdRefresh,
		remove: kamcmdPrelude + `"$k" "$@" uac.reg_unregister l_uuid "$TRUNKD_TRUNK" &&
"$k" "$@" uac.reg_disable l_uuid "$TRUNKD_TRUNK"`,
		failRegex: `(?im)^error`,
		// reg_active 0 stops uac's timer from sending any REGISTER (the
		// records stay, and un-REGISTER nothing); 1 resumes it.
		fence:   kamcmdPrelude + `"$k" "$@" uac.reg_active 0`,
		unfence: kamcmdPrelude + `"$k" "$@" uac.reg_active 1`,
	},
	// rescan ignores changed gateways; killgw is asynchronous (the
	// gateway is gone once xmlstatus says "Invalid Gateway!"), startgw
	// reads the XML and starts one gateway.
	"freeswitch": {
		add: fsPrelude + `fs "sofia profile $p startgw $g"`,
		change: fsPrelude + `if ! gone; then
	fs "sofia profile $p killgw $g"
	until gone; do sleep 0.05; done
fi
fs "sofia profile $p startgw $g"`,
		remove:    fsPrelude + `if ! gone; then fs "sofia profile $p killgw $g"; fi`,
		failRegex: `-ERR`,
		// killgw _all_ un-registers and deletes every gateway of the
		// profile (calls through them fail until the unfence); rescan
		// starts the gateways of the file again.
		fence:   fsPrelude + `fs "sofia profile $p killgw _all_"`,
		unfence: fsPrelude + `fs "sofia profile $p rescan"`,
	},
	// Asterisk has no per-object reload: res_pjsip's reload reuses the
	// registrations whose configuration did not change, so a changed
	// trunk (whose registration may look unchanged when only its auth
	// changed) is re-registered explicitly.
	"asterisk": {
		add:       astPrelude + `ast "module reload res_pjsip.so"`,
		change:    astPrelude + `ast "module reload res_pjsip.so"` + "\n" + `if [ -n "$reg" ]; then ast "pjsip send register $reg"; fi`,
		remove:    astPrelude + `if [ -n "$reg" ]; then ast "pjsip send unregister $reg"; fi`,
		failRegex: `(?im)^(no such command|unable to|error|unknown)`,
		// unregister *all un-registers every outbound registration and
		// stops its retries; the unfence reloads res_pjsip first (so
		// registrations that left the file while fenced are gone), then
		// registers the file's registrations again.
		fence:   astPrelude + `ast "pjsip send unregister *all"`,
		unfence: astPrelude + `ast "module reload res_pjsip.so"` + "\n" + `ast "pjsip send register *all"`,
	},
}

// preset returns the named engine's preset.
func preset(engine string) (enginePreset, error) {
	p, ok := presets[engine]
	if !ok {
		names := slices.Sorted(maps.Keys(presets))
		return p, fmt.Errorf("engine: unknown engine %q (known: %s)", engine, strings.Join(names, ", "))
	}
	return p, nil
}
