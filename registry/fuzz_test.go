package registry

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input panics Parse, every failure is a list of located
// problems, and every accepted provider passes Validate.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	examples, _ := filepath.Glob("../examples/providers/*.yaml")
	for _, name := range append(files, examples...) {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var probs Problems
			if !errors.As(err, &probs) || len(probs) == 0 {
				t.Fatalf("error is not Problems: %v", err)
			}
			for _, pr := range probs {
				if pr.File != "fuzz.yaml" || pr.Line < 1 {
					t.Fatalf("problem not located: %+v", pr)
				}
			}
			return
		}
		if probs := Validate(&p); len(probs) > 0 {
			t.Fatalf("accepted an invalid provider: %v", probs)
		}
	})
}
