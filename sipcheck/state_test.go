package sipcheck

import "testing"

func TestEngineBinding(t *testing.T) {
	own := Binding{Contact: "sip:alice@192.0.2.1:5060", Own: true}
	other := Binding{Contact: "sip:alice@192.0.2.2:5060"}
	for _, c := range []struct {
		bs   []Binding
		seen bool
		want string
	}{
		{nil, false, BindingUnknown},
		{nil, true, BindingMissing},
		{[]Binding{own}, true, BindingMissing},
		{[]Binding{own, other}, true, BindingPresent},
		{[]Binding{other}, true, BindingPresent},
	} {
		if got := engineBinding(c.bs, c.seen); got != c.want {
			t.Errorf("%+v seen %v: %s, want %s", c.bs, c.seen, got, c.want)
		}
	}
}
