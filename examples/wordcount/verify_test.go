package wordcount

import (
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	want := Totals("go Go stop")
	cases := map[string]struct {
		out string
		ok  bool
	}{
		"complete":  {`{"word":"go","count":2}` + "\n" + `{"word":"stop","count":1}` + "\n" + `{"word":"go","count":1}`, true},
		"duplicate": {`{"word":"go","count":1}` + "\n" + `{"word":"go","count":1}` + "\n" + `{"word":"stop","count":1}`, false},
		"missing":   {`{"word":"go","count":1}` + "\n" + `{"word":"stop","count":1}`, false},
		"too high":  {`{"word":"stop","count":2}`, false},
		"garbage":   {`not json`, false},
	}
	for name, c := range cases {
		if err := Verify(strings.NewReader(c.out), want); (err == nil) != c.ok {
			t.Errorf("%s: Verify = %v, want ok=%v", name, err, c.ok)
		}
	}
}
