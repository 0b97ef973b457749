package render

import "time"

// Config is the "render" section of the daemon's config file.
type Config struct {
	Targets      []TargetConfig `yaml:"targets"`
	MaxDropRatio float64        `yaml:"max_drop_ratio"` // default 0.5
	ConfirmDrop  bool           `yaml:"confirm_drop"`   // apply renders the drop guard would hold back
}

// TargetConfig is one render target.
type TargetConfig struct {
	Name            string        `yaml:"name"`
	Template        string        `yaml:"template"` // built-in name or path to a template file
	Output          string        `yaml:"output"`
	CheckCmd        string        `yaml:"check_cmd"`
	ReloadCmd       string        `yaml:"reload_cmd"`
	ReloadFailRegex string        `yaml:"reload_fail_regex"`
	Timeout         time.Duration `yaml:"timeout"` // default 10s
}
