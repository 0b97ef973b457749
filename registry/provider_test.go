package registry

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestSeedJSON: the example file of the seed's first provider encodes to
// the seed's GET response byte for byte (field order and value forms).
func TestSeedJSON(t *testing.T) {
	data, err := os.ReadFile("../examples/providers/3528769.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("3528769.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/seed-3528769.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Errorf("JSON differs from the seed:\n%s", got)
	}
	var back Provider
	if err := json.Unmarshal(got, &back); err != nil || back != p {
		t.Errorf("round trip: %v\n%+v\n%+v", err, back, p)
	}
}

func TestTimestamp(t *testing.T) {
	loc := time.FixedZone("MSK", 3*3600)
	cases := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2019, 8, 27, 11, 3, 14, 849_999_999, loc), `"2019-08-27T08:03:14.84Z"`},
		{time.Date(2019, 8, 27, 8, 3, 14, 0, time.UTC), `"2019-08-27T08:03:14.00Z"`},
		{time.Time{}, `""`},
	}
	for _, c := range cases {
		b, _ := json.Marshal(NewTimestamp(c.in))
		if string(b) != c.want {
			t.Errorf("%v: got %s want %s", c.in, b, c.want)
		}
	}
	var ts Timestamp
	if err := json.Unmarshal([]byte(`"2019-08-27T08:03:14.84Z"`), &ts); err != nil || ts.String() != "2019-08-27T08:03:14.84Z" {
		t.Errorf("parse: %v %v", ts, err)
	}
	if err := json.Unmarshal([]byte(`"yesterday"`), &ts); err == nil {
		t.Error("accepted a non-time")
	}
	if err := json.Unmarshal([]byte(`5`), &ts); err == nil {
		t.Error("accepted a number")
	}
}

// TestDeriveID pins derived ids: the same code gives the same id on every
// machine, so ids of hand-written files never change.
func TestDeriveID(t *testing.T) {
	if got := DeriveID("demo-local"); got != "31ac976f-3e94-5560-b73c-f837ce392ee6" {
		t.Errorf("DeriveID changed: %s", got)
	}
	if DeriveID("a") == DeriveID("b") || !IsUUID(DeriveID("x")) {
		t.Error("derived ids collide or are not UUIDs")
	}
	for s, want := range map[string]bool{
		"c581b67c-016c-d219-b121-50e54938780c": true, "C581B67C-016C-D219-B121-50E54938780C": true,
		"c581b67c016cd219b12150e54938780c": false, "c581b67c-016c-d219-b121-50e54938780": false,
		"g581b67c-016c-d219-b121-50e54938780c": false,
	} {
		if IsUUID(s) != want {
			t.Errorf("IsUUID(%q) != %v", s, want)
		}
	}
}

func TestActive(t *testing.T) {
	p := Default()
	p.ServerIdx = 11
	if !p.Active(-1) || !p.Active(11) || p.Active(12) {
		t.Error("Active with server index")
	}
	p.Enabled = 0
	if p.Active(-1) {
		t.Error("disabled trunk is active")
	}
}
