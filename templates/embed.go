package templates

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed kamailio/*.tmpl asterisk/*.tmpl freeswitch/*.tmpl
var files embed.FS

// suffix is the file name suffix of a built-in template; the built-in name
// is the path without it ("kamailio/uacreg").
const suffix = ".tmpl"

// Lookup returns the text of the built-in template name.
func Lookup(name string) (string, bool) {
	if name == "" || strings.HasSuffix(name, suffix) {
		return "", false
	}
	data, err := files.ReadFile(name + suffix)
	if err != nil {
		return "", false
	}
	return string(data), true
}

// Names lists every built-in template name, sorted.
func Names() []string {
	var names []string
	_ = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, suffix) {
			names = append(names, strings.TrimSuffix(path, suffix))
		}
		return nil
	})
	sort.Strings(names)
	return names
}
