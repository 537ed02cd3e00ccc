package endpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// params builds Params holding name=value, through a registry as a
// pipeline's Build function receives them.
func params(t *testing.T, name, value string) actors.Params {
	t.Helper()
	var got actors.Params
	reg := actors.NewRegistry()
	reg.MustRegister(actors.PipelineSpec{Name: "p", Params: []actors.Param{{Name: name}},
		Build: func(ps actors.Params) (*operators.Pipeline, error) {
			got = ps
			return operators.NewPipeline("p"), nil
		}})
	if _, err := reg.Build("p", map[string]string{name: value}, 0); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(file, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value   string
		streams bool
		want    string // in the error; "" for none
	}{
		{"", false, ""},
		{file, false, ""},
		{"nats://127.0.0.1:4222/S?subject=a", true, ""},
		{filepath.Join(dir, "missing"), false, "no such file"},
		{dir, false, "is a directory"},
		{filepath.Join(file, "below"), false, "not a directory"},
		{"nats://127.0.0.1:4222/", true, `input="nats://127.0.0.1:4222/"`},
		{"nats://127.0.0.1:4222/S", false, "no such file"}, // a file source only
	}
	for _, tt := range tests {
		err := Input(params(t, "input", tt.value), "input", tt.streams)
		checkErr(t, "Input("+tt.value+")", err, tt.want)
		if err != nil && !strings.Contains(err.Error(), `input="`+tt.value+`"`) {
			t.Errorf("Input(%s) = %v, want it to name the parameter and value", tt.value, err)
		}
	}
}

func TestOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value   string
		streams bool
		want    string
	}{
		{"", false, ""},
		{dir, false, ""},
		{filepath.Join(dir, "new", "out"), false, ""},
		{"nats://127.0.0.1:4222/OUT", true, ""},
		{file, false, `output="` + file + `": output dir ` + file + `: is a file`},
		{filepath.Join(file, "out"), false, "is a file"},
		{"nats://127.0.0.1:4222/", true, `output="nats://127.0.0.1:4222/"`},
	}
	for _, tt := range tests {
		checkErr(t, "Output("+tt.value+")", Output(params(t, "output", tt.value), "output", tt.streams), tt.want)
	}
}

func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s = %v, want no error", what, err)
	case want != "" && (!errors.Is(err, actors.ErrBadParam) || !strings.Contains(err.Error(), want)):
		t.Errorf("%s = %v, want ErrBadParam with %q", what, err, want)
	}
}
