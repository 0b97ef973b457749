package importer

import "sort"

// Source is one input file: its name (as printed in issues) and content.
type Source struct {
	Name string
	Data []byte
}

// Options tune an import.
type Options struct {
	// ServerIndex is written as serveridx of every trunk. Below 0 means
	// "not given": serveridx is 0 with a comment asking to set it.
	ServerIndex int
	// Vars are FreeSWITCH pre-processor variables ($${name}), e.g. from
	// vars.xml (see ParseFreeSWITCHVars); the input files' own
	// <X-PRE-PROCESS cmd="set"> lines are added to them.
	Vars map[string]string
}

// sortResult puts issues in source order (file as given, then line) and
// trunks by code.
func sortResult(res *Result, files []Source) {
	order := map[string]int{}
	for i, f := range files {
		if _, ok := order[f.Name]; !ok {
			order[f.Name] = i
		}
	}
	sort.SliceStable(res.Issues, func(i, j int) bool {
		a, b := res.Issues[i], res.Issues[j]
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		return a.Line < b.Line
	})
	sort.SliceStable(res.Trunks, func(i, j int) bool { return res.Trunks[i].Provider.Code < res.Trunks[j].Provider.Code })
}
