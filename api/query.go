package api

import (
	"net/url"
	"strconv"
)

// listQuery is the parsed query of GET /rest/v1/uc/providers.
type listQuery struct {
	filter     filter
	filterText string // as given, part of the cache key of its matches
	mask       *shape // nil: the list's fixed shape
	order      []orderKey
	offset     int
	limit      int // -1: no limit
	flat       bool
}

// params parses a raw query strictly: malformed escapes, unknown and
// repeated parameters are errors. An empty value counts as absent.
func params(raw string, known ...string) (map[string]string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("malformed query string: %s", err.Error())
	}
	out := make(map[string]string, len(q))
	for name, vals := range q {
		ok := false
		for _, k := range known {
			ok = ok || k == name
		}
		if !ok {
			return nil, badRequest("unknown query parameter %q", name)
		}
		if len(vals) > 1 {
			return nil, badRequest("query parameter %q given more than once", name)
		}
		if vals[0] != "" {
			out[name] = vals[0]
		}
	}
	return out, nil
}

func parseListQuery(raw string) (listQuery, error) {
	var q listQuery
	p, err := params(raw, "filter", "mask", "order", "offset", "limit", "flat")
	if err != nil {
		return q, err
	}
	if s, ok := p["filter"]; ok {
		if q.filter, err = parseFilter(s); err != nil {
			return q, err
		}
		q.filterText = s
	}
	if q.mask, err = maskParam(p, shapeList); err != nil {
		return q, err
	}
	if s, ok := p["order"]; ok {
		if q.order, err = parseOrder(s); err != nil {
			return q, err
		}
	}
	if q.offset, q.limit, err = window(p, -1); err != nil {
		return q, err
	}
	q.flat, err = parseFlat(p)
	return q, err
}

// parseEntityQuery parses the query of GET /rest/v1/uc/providers/{id};
// allowed is what the caller's role may see.
func parseEntityQuery(raw string, allowed shape) (mask *shape, flat bool, err error) {
	p, err := params(raw, "mask", "flat")
	if err != nil {
		return nil, false, err
	}
	if mask, err = maskParam(p, allowed); err != nil {
		return nil, false, err
	}
	flat, err = parseFlat(p)
	return mask, flat, err
}

// maskParam parses the mask parameter, if given; allowed is what the
// caller may see.
func maskParam(p map[string]string, allowed shape) (*shape, error) {
	s, ok := p["mask"]
	if !ok {
		return nil, nil
	}
	sh, err := parseMask(s, allowed)
	return &sh, err
}

// window parses the offset and limit parameters; limit is def when absent.
func window(p map[string]string, def int) (offset, limit int, err error) {
	limit = def
	if s, ok := p["offset"]; ok {
		if offset, err = nonNegative("offset", s); err != nil {
			return 0, 0, err
		}
	}
	if s, ok := p["limit"]; ok {
		if limit, err = nonNegative("limit", s); err != nil {
			return 0, 0, err
		}
	}
	return offset, limit, nil
}

// nonNegative accepts decimal digits only: no sign, no spaces, no hex.
func nonNegative(name, s string) (int, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, badRequest("%s: must be a non-negative integer, got %q", name, s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("%s: integer out of range", name)
	}
	return n, nil
}

func parseFlat(p map[string]string) (bool, error) {
	switch p["flat"] {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, badRequest("flat: must be true or false, got %q", p["flat"])
}
