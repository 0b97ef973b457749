package api

import "github.com/trunkd/trunkd/registry"

// clientInvalid is the registry's list of invalid files as API clients
// see it: every problem names its file as the file's name in the providers
// directory, never by the server's path, which the registry puts there for
// its own log lines. Never nil, so that /status shows an empty list.
func clientInvalid(invalid []registry.FileProblems) []registry.FileProblems {
	out := make([]registry.FileProblems, len(invalid))
	for i, f := range invalid {
		f.Problems = append(registry.Problems(nil), f.Problems...)
		for j := range f.Problems {
			if f.Problems[j].File != "" {
				f.Problems[j].File = f.File
			}
		}
		out[i] = f
	}
	return out
}
