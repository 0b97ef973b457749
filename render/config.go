package render

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trunkd/trunkd/templates"
)

// Defaults of the render configuration.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxDropRatio = 0.5
	DefaultMode         = os.FileMode(0o600)
)

// Config is the "render" section of the daemon's config file.
type Config struct {
	Targets []TargetConfig `yaml:"targets"`
	// MaxDropRatio is the largest share of the trunks in a live file that
	// one render may remove without confirmation; 0 means the default 0.5,
	// 1 turns the guard off.
	MaxDropRatio float64 `yaml:"max_drop_ratio"`
	// ConfirmDrop applies renders the drop guard would hold back (they are
	// still logged as warnings).
	ConfirmDrop bool `yaml:"confirm_drop"`
}

// Fence action kinds: fence_cmd and unfence_cmd (FenceStatus.Action,
// TRUNKD_ACTION, the action label of trunkd_render_fence_failures_total).
const (
	ActionFence   = "fence"
	ActionUnfence = "unfence"
)

// TargetConfig is one render target.
type TargetConfig struct {
	Name     string `yaml:"name"`
	Template string `yaml:"template"` // built-in name or path to a template file
	Output   string `yaml:"output"`
	// CheckCmd runs (sh -c) on the candidate before it replaces the live
	// file; the candidate is $1 and $TRUNKD_CANDIDATE. Non-zero exit rejects it.
	CheckCmd string `yaml:"check_cmd"`
	// ReloadCmd runs (sh -c) after the live file changed. A non-zero exit,
	// a timeout or output matching ReloadFailRegex rolls the file back.
	ReloadCmd       string        `yaml:"reload_cmd"`
	ReloadFailRegex string        `yaml:"reload_fail_regex"`
	Timeout         time.Duration `yaml:"timeout"` // per command, default 10s
	// Mode is the output file's permission bits in octal, default "0600"
	// (the files hold credentials).
	Mode string `yaml:"mode"`
	// Vars are free values for the template (.Vars, and the var function).
	Vars map[string]string `yaml:"vars"`
	// TrunkRegex matches one trunk in a line of the output (the first
	// group, if any, names it) for the drop guard. Built-in templates have
	// their own.
	TrunkRegex string `yaml:"trunk_regex"`
	// TrunkAddCmd, TrunkChangeCmd and TrunkRemoveCmd run (sh -c) per trunk
	// in place of ReloadCmd when the live file exists and a change touches
	// at most TrunkActionsMaxShare of the trunks (default 0.2), with
	// TRUNKD_TRUNK, TRUNKD_ACTION, TRUNKD_OUTPUT, TRUNKD_TARGET and
	// TRUNKD_VAR_<NAME> per var. Output matching ReloadFailRegex fails
	// them too. See the package doc, "Per-trunk actions".
	TrunkAddCmd          string  `yaml:"trunk_add_cmd"`
	TrunkChangeCmd       string  `yaml:"trunk_change_cmd"`
	TrunkRemoveCmd       string  `yaml:"trunk_remove_cmd"`
	TrunkActionsMaxShare float64 `yaml:"trunk_actions_max_share"`
	// FenceCmd stops every registration of the engine at once (sh -c,
	// with TRUNKD_ACTION=fence, TRUNKD_OUTPUT, TRUNKD_TARGET and
	// TRUNKD_VAR_<NAME>); UnfenceCmd lets it register again. Both or
	// neither. Output matching ReloadFailRegex fails them too. See the
	// package doc, "Cluster".
	FenceCmd   string `yaml:"fence_cmd"`
	UnfenceCmd string `yaml:"unfence_cmd"`
	// Engine (kamailio, freeswitch, asterisk) fills the per-trunk action
	// and fence commands not set and, when ReloadFailRegex is empty, the
	// engine's failure pattern (see the package doc, "Engine presets").
	Engine string `yaml:"engine"`
}

// builtinTrunkRegex finds the trunks in a file written by a built-in
// template, for the drop guard; kamailio/version holds no trunks.
var builtinTrunkRegex = map[string]string{
	"kamailio/uacreg":          `^[0-9]+:((?:[^:\\]|\\.)*):`,
	"kamailio/dispatcher.list": `^[^#]\S*\s.*duid=([^;\s]+)`,
	"asterisk/pjsip.conf":      `^aors=(.+)$`,
	"freeswitch/gateways.xml":  `<gateway name="([^"]*)"`,
}

// newTarget checks one target's configuration and prepares it.
func newTarget(c TargetConfig) (*target, error) {
	t := &target{cfg: c, timeout: c.Timeout, mode: DefaultMode, journal: newJournal(c.Output)}
	if err := t.checkFile(); err != nil {
		return nil, err
	}
	c, err := withPreset(c)
	if err != nil {
		return nil, err
	}
	t.cfg = c
	if (c.FenceCmd == "") != (c.UnfenceCmd == "") {
		return nil, errors.New("fence_cmd and unfence_cmd: set both or neither (a fenced engine must be able to register again)")
	}
	if c.ReloadFailRegex != "" {
		if t.failRe, err = regexp.Compile(c.ReloadFailRegex); err != nil {
			return nil, fmt.Errorf("reload_fail_regex: %w", err)
		}
	}
	if t.actions, err = newTrunkActions(c); err != nil {
		return nil, err
	}
	if err := t.loadTemplate(); err != nil {
		return nil, err
	}
	return t, nil
}

// checkFile checks the target's name, output, template, timeout and mode,
// and fills the defaults of the last two.
func (t *target) checkFile() error {
	c := t.cfg
	switch {
	case c.Name == "":
		return errors.New("name is required")
	case c.Output == "":
		return errors.New("output is required")
	case c.Template == "":
		return errors.New("template is required")
	case c.Timeout < 0:
		return fmt.Errorf("timeout: must be positive, got %s", c.Timeout)
	case c.Timeout == 0:
		t.timeout = DefaultTimeout
	}
	if c.Mode != "" {
		m, err := strconv.ParseUint(c.Mode, 8, 32)
		if err != nil || m > 0o777 {
			return fmt.Errorf("mode: must be octal permission bits like 0640, got %q", c.Mode)
		}
		t.mode = os.FileMode(m)
	}
	return nil
}

// loadTemplate parses the target's template, built-in or a file, and its
// trunk pattern for the drop guard (a built-in template's by default).
func (t *target) loadTemplate() error {
	c := t.cfg
	p, builtin, err := c.parse()
	if err != nil {
		return err
	}
	trunkRegex := c.TrunkRegex
	if builtin {
		t.parsed, trunkRegex = p, cmp.Or(trunkRegex, builtinTrunkRegex[c.Template])
	} else {
		t.file = p
	}
	if trunkRegex != "" {
		if t.trunkRe, err = regexp.Compile(trunkRegex); err != nil {
			return fmt.Errorf("trunk_regex: %w", err)
		}
	}
	return nil
}

// parse parses c's template: a built-in one, or an operator's file.
func (c TargetConfig) parse() (p *program, builtin bool, err error) {
	if text, ok := templates.Lookup(c.Template); ok {
		tmpl, err := parseTemplate(c.Template, text, c.Vars)
		if err != nil {
			return nil, true, fmt.Errorf("built-in template %s: %w", c.Template, err)
		}
		return newProgram(tmpl, "builtin:"+c.Template), true, nil
	}
	if p, err = loadProgram(c.Template, c.Vars, nil); err != nil {
		return nil, false, fmt.Errorf("template: %w (built-in templates: %v)", err, templates.Names())
	}
	return p, false, nil
}

// withPreset fills c's per-trunk actions, fence actions (as a pair) and
// failure pattern from its engine preset where c leaves them empty.
func withPreset(c TargetConfig) (TargetConfig, error) {
	if c.Engine == "" {
		return c, nil
	}
	p, err := preset(c.Engine)
	if err != nil {
		return c, err
	}
	c.TrunkAddCmd = cmp.Or(c.TrunkAddCmd, p.add)
	c.TrunkChangeCmd = cmp.Or(c.TrunkChangeCmd, p.change)
	c.TrunkRemoveCmd = cmp.Or(c.TrunkRemoveCmd, p.remove)
	if c.FenceCmd == "" && c.UnfenceCmd == "" {
		c.FenceCmd, c.UnfenceCmd = p.fence, p.unfence
	}
	c.ReloadFailRegex = cmp.Or(c.ReloadFailRegex, p.failRegex)
	return c, nil
}

// checkConfig validates the whole section: targets, unique names and
// outputs, the drop ratio.
func checkConfig(c Config) (float64, error) {
	ratio := cmp.Or(c.MaxDropRatio, DefaultMaxDropRatio)
	if ratio < 0 || ratio > 1 {
		return 0, fmt.Errorf("render.max_drop_ratio: must be between 0 and 1, got %g", c.MaxDropRatio)
	}
	names := map[string]bool{}
	outputs := map[string]string{}
	for i, tc := range c.Targets {
		if names[tc.Name] {
			return 0, fmt.Errorf("render.targets[%d]: name %q is used twice", i, tc.Name)
		}
		names[tc.Name] = true
		if tc.Output == "" {
			continue
		}
		abs, err := filepath.Abs(tc.Output)
		if err != nil {
			return 0, fmt.Errorf("render.targets[%d] (%s): output: %w", i, tc.Name, err)
		}
		if other, dup := outputs[abs]; dup {
			return 0, fmt.Errorf("render.targets[%d] (%s): output %s is also the output of %s", i, tc.Name, tc.Output, other)
		}
		outputs[abs] = tc.Name
	}
	return ratio, nil
}

// envName is a var name that can be passed as TRUNKD_VAR_<NAME>.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// newTrunkActions checks the per-trunk action keys of c and builds the
// target's per-trunk action settings (trunkactions.go).
func newTrunkActions(c TargetConfig) (trunkActions, error) {
	cmds := map[string]string{ActionAdd: c.TrunkAddCmd, ActionChange: c.TrunkChangeCmd, ActionRemove: c.TrunkRemoveCmd}
	maps.DeleteFunc(cmds, func(_, cmd string) bool { return cmd == "" })
	a := trunkActions{cmds: cmds, maxShare: cmp.Or(c.TrunkActionsMaxShare, DefaultTrunkActionsMaxShare)}
	if a.maxShare < 0 || a.maxShare > 1 {
		return a, fmt.Errorf("trunk_actions_max_share: must be between 0 and 1, got %g", c.TrunkActionsMaxShare)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Vars)) {
		if envName.MatchString(k) {
			a.env = append(a.env, "TRUNKD_VAR_"+strings.ToUpper(k)+"="+c.Vars[k])
		}
	}
	return a, nil
}
