package gitstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// History lists the commits that touched one file, newest first, with
// offset and limit, as git log does.
func TestHistory(t *testing.T) {
	rem := newRemote(t)
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), nil)
	start := time.Now().Add(-time.Minute) // git times have second precision
	for i, who := range []string{"ops", "ci", "ops"} {
		content := "code: a\nn: " + string(rune('1'+i)) + "\n"
		if _, err := r.Commit(context.Background(), Signature{Name: who, Email: who + "@trunkd"},
			writeFile(r, "a.yaml", content, "patch a "+who)); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Commit(context.Background(), Signature{Name: who},
			writeFile(r, "other.yaml", content, "other")); err != nil {
			t.Fatal(err)
		}
	}
	all, total, err := r.History(context.Background(), "a.yaml", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || len(all) != 4 {
		t.Fatalf("total %d, %d entries, want 4 (3 writes and the seed)", total, len(all))
	}
	want := []string{"patch a ops", "patch a ci", "patch a ops", "seed"}
	for i, e := range all {
		if e.Message != want[i] {
			t.Errorf("entry %d message %q, want %q", i, e.Message, want[i])
		}
		if e.Time.Before(start) || e.Time.After(time.Now().Add(time.Minute)) || len(e.SHA) != 40 {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if all[1].Author != (Signature{Name: "ci", Email: "ci@trunkd"}) || all[3].Author.Name != "Human" {
		t.Errorf("authors %+v, %+v", all[1].Author, all[3].Author)
	}
	page, total, err := r.History(context.Background(), "a.yaml", 1, 2)
	if err != nil || total != 4 || len(page) != 2 || page[0].SHA != all[1].SHA || page[1].SHA != all[2].SHA {
		t.Errorf("History(offset 1, limit 2) = %d entries, total %d, %v", len(page), total, err)
	}
	if none, total, err := r.History(context.Background(), "missing.yaml", 0, 0); err != nil || total != 0 || len(none) != 0 {
		t.Errorf("History of a missing file = %v, %d, %v", none, total, err)
	}
}

// LastChanges: the last commit of every file directly in the providers
// folder, in one pass; files elsewhere do not count.
func TestLastChanges(t *testing.T) {
	rem := newRemote(t)
	rem.write(t, "README.md", "x\n")
	rem.write(t, "providers/sub/deep.yaml", "x\n")
	rem.push(t, "outside the folder")
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), nil)
	for _, w := range []struct{ who, file string }{{"ops", "b.yaml"}, {"ci", "a.yaml"}, {"ops", "zähler.yaml"}} {
		if _, err := r.Commit(context.Background(), Signature{Name: w.who}, writeFile(r, w.file, w.who+"\n", w.who+" wrote "+w.file)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.LastChanges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.yaml": "ci wrote a.yaml", "b.yaml": "ops wrote b.yaml", "zähler.yaml": "ops wrote zähler.yaml"}
	if len(got) != len(want) {
		t.Errorf("LastChanges = %v", got)
	}
	for f, msg := range want {
		if got[f].Message != msg || len(got[f].SHA) != 40 {
			t.Errorf("%s: %+v, want %q", f, got[f], msg)
		}
	}
	if all, _, _ := r.History(context.Background(), "a.yaml", 0, 1); len(all) != 1 || all[0].SHA != got["a.yaml"].SHA {
		t.Errorf("LastChanges and History disagree on a.yaml")
	}
}
