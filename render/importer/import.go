package importer

import "fmt"

// Formats lists the source formats Import accepts.
var Formats = []string{"asterisk", "freeswitch"}

// Import reads files of the given format ("asterisk" or "freeswitch").
func Import(format string, files []Source, opts Options) (*Result, error) {
	switch format {
	case "asterisk":
		return Asterisk(files, opts), nil
	case "freeswitch":
		return FreeSWITCH(files, opts), nil
	}
	return nil, fmt.Errorf("unknown source format %q (known: %v)", format, Formats)
}
