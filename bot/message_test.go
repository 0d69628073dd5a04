package bot

import (
	"testing"
)

func TestAddressKeyIsInjective(t *testing.T) {
	pairs := [][2]Address{
		{{Platform: "p", Channel: "a/b", User: "c"}, {Platform: "p", Channel: "a", Thread: "b", User: "c"}},
		{{Platform: "p", User: "a%2Fb"}, {Platform: "p", User: "a/b"}},
		{{Workspace: "w"}, {Channel: "w"}},
	}
	for _, p := range pairs {
		if p[0].Key() == p[1].Key() {
			t.Errorf("%+v and %+v share key %q", p[0], p[1], p[0].Key())
		}
	}
	if alice.Key() != alice.Key() {
		t.Error("key is not stable")
	}
}
