package jetstream

import (
	"strings"
	"testing"
)

func TestOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"in.a", "in.a", true},
		{"in.a", "in.b", false},
		{"in.*", "in.a", true},
		{"in.>", "in.a", true},
		{"in.>", "in.a.b", true},
		{"in.>", "in", false}, // '>' needs a token
		{"in.*", "in.a.b", false},
		{"*.a", "in.*", true},
		{"*.a", "in.b", false},
		{">", "x", true},
		{"*", "x.y", false},
		{"in.*.c", "in.b.>", true},
		{"in.*.c", "in.b.d", false},
		{"in", "in.a", false},
	} {
		if got := overlap(c.a, c.b); got != c.want {
			t.Errorf("overlap(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := overlap(c.b, c.a); got != c.want {
			t.Errorf("overlap(%q, %q) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}

func TestCheckFilters(t *testing.T) {
	for _, c := range []struct {
		filters []string
		want    string // "" for none
	}{
		{[]string{"in.a", "in.b", "in.c.>"}, ""},
		{[]string{"in.a", "in.a"}, `"in.a" is repeated`},
		{[]string{"in.a", "in.b", "in.*"}, `"in.a" and "in.*" overlap`},
		{[]string{"in.>", "out", "in.x.y"}, `"in.>" and "in.x.y" overlap`},
		{[]string{""}, "empty filter"},
		{[]string{"in..a"}, "empty token"},
		{[]string{"in.>.a"}, "before its last token"},
		{[]string{"in.a*"}, "inside token"},
		{[]string{"in a"}, "space"},
	} {
		err := checkFilters(c.filters)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v, want no error", c.filters, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v, want an error with %q", c.filters, err, c.want)
		}
	}
}
