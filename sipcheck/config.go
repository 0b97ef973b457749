package sipcheck

// Config is the "probe" section of the daemon's config file.
type Config struct {
	Enabled         bool   `yaml:"enabled"`
	Listen          string `yaml:"listen"`             // local SIP address, default 127.0.0.1:0
	RegisterMode    string `yaml:"register_mode"`      // query (default) or bind
	MaxNewPerSecond int    `yaml:"max_new_per_second"` // default 500
	AliveCodes      string `yaml:"alive_codes"`        // default: any final response except 408 and 503
	DownAfter       int    `yaml:"down_after"`         // default 3
	UpAfter         int    `yaml:"up_after"`           // default 1
}
