package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

// BenchmarkEntityEncoding compares the hand-written entity encoder with
// encoding/json on the same work: one full provider, indented as the seed
// shows it. The hand-written path stays only while it is at least 1.5×
// faster (issue 12); go test -bench EntityEncoding -benchmem ./api.
func BenchmarkEntityEncoding(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "examples", "providers", "3528769.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	pv, err := registry.Parse("3528769.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	p := &pv
	b.Run("appendEntity", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = appendEntity(buf[:0], p, shapeFull, false, "")
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.MarshalIndent(p, "", "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
}
