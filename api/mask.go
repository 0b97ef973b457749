package api

import (
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// parseMask parses the mask parameter: comma-separated field paths, where
// a group name ("lic", "opts", "ext") stands for its fields. Only fields of
// allowed may be named; pwd never may. The result keeps the entity's field
// order.
func parseMask(text string, allowed shape) (shape, error) {
	want := map[string]bool{}
	for _, item := range strings.Split(text, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			return shape{}, badRequest("mask: empty field name in %q", text)
		}
		if leaves, group := registry.Groups[name]; group {
			for _, leaf := range leaves {
				if path := name + "." + leaf; allowed.has(path) {
					want[path] = true
				}
			}
			continue
		}
		if registry.FieldByPath(name) == nil {
			return shape{}, badRequest("mask: unknown field %q", name)
		}
		if name == "pwd" || !allowed.has(name) {
			return shape{}, badRequest("mask: %s cannot be selected here", name)
		}
		want[name] = true
	}
	return shapeOf(func(p string) bool { return want[p] }), nil
}
