package natsstore

import (
	"strconv"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	good := []struct {
		path string
		want checkpointRef
	}{
		{"nats://troupe-checkpoints/wordcount/0a1b/chk-7", checkpointRef{"troupe-checkpoints", "wordcount", "0a1b", 7}},
		{"nats://b/a/job/with/slashes/r.1/chk-123", checkpointRef{"b", "a/job/with/slashes", "r.1", 123}},
	}
	for _, tt := range good {
		got, ok := parsePath(tt.path)
		if !ok || got != tt.want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v", tt.path, got, ok, tt.want)
		}
		if got.path() != tt.path {
			t.Errorf("path() of %q gives %q", tt.path, got.path())
		}
	}
	for _, bad := range []string{"", "nats://", "nats://b", "nats://b/j/chk-1", "nats://b//r/chk-1", "nats://b/j//chk-1",
		"nats://b/j/r/chk-0", "nats://b/j/r/chk-01", "nats://b/j/r/chk-+1", "nats://b/j/r/chk-", "nats://b/j/r/chk-1/",
		"nats://b.x/j/r/chk-1", "file:///tmp/j/r/chk-1", "nats://b/j/r/chk-99999999999999999999"} {
		if ref, ok := parsePath(bad); ok {
			t.Errorf("parsePath(%q) accepted: %+v", bad, ref)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	f.Add("nats://troupe-checkpoints/wordcount/0a1b/chk-7")
	f.Add("nats://b/a/b/c/chk-1")
	f.Add("nats://b/j/r/chk-01")
	f.Fuzz(func(t *testing.T, path string) {
		ref, ok := parsePath(path)
		if !ok {
			return
		}
		if ref.path() != path {
			t.Fatalf("%q parses to %+v, which prints as %q", path, ref, ref.path())
		}
		if strings.Contains(ref.run, "/") || ref.job == "" || ref.run == "" || ref.id < 1 {
			t.Fatalf("%q parses to %+v", path, ref)
		}
	})
}

func TestKeyToken(t *testing.T) {
	for in, want := range map[string]string{
		"wordcount": "wordcount", "a.b": "a=2Eb", "x y/z": "x=20y=2Fz", "": "=", "é": "=C3=A9", "=": "=3D",
	} {
		if got := keyToken(in); got != want {
			t.Errorf("keyToken(%q) = %q, want %q", in, got, want)
		}
		if back, ok := fromKeyToken(want); !ok || back != in {
			t.Errorf("fromKeyToken(%q) = %q, %v", want, back, ok)
		}
	}
	for _, bad := range []string{"", "a.b", "=2", "=2e", "=41", "a=", "*"} {
		if s, ok := fromKeyToken(bad); ok {
			t.Errorf("fromKeyToken(%q) accepted: %q", bad, s)
		}
	}
}

// keyToken is reversible and writes only what a key-value token allows;
// fromKeyToken accepts exactly what keyToken writes.
func FuzzKeyToken(f *testing.F) {
	f.Add("wordcount")
	f.Add("a.b=c")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok := keyToken(s)
		for i := 0; i < len(tok); i++ {
			if !keyByte(tok[i]) && tok[i] != '=' {
				t.Fatalf("keyToken(%q) = %q holds %q", s, tok, tok[i])
			}
		}
		if back, ok := fromKeyToken(tok); !ok || back != s {
			t.Fatalf("fromKeyToken(keyToken(%q)) = %q, %v", s, back, ok)
		}
		if back, ok := fromKeyToken(s); ok && keyToken(back) != s {
			t.Fatalf("fromKeyToken(%q) = %q, which encodes as %q", s, back, keyToken(back))
		}
	})
}

// fromKeyToken decodes what keyToken encoded; ok is false for anything
// keyToken does not write.
func fromKeyToken(t string) (string, bool) {
	if t == "=" {
		return "", true
	}
	if t == "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case keyByte(c):
			b.WriteByte(c)
		case c == '=' && i+2 < len(t) && isUpperHex(t[i+1]) && isUpperHex(t[i+2]):
			v, _ := strconv.ParseUint(t[i+1:i+3], 16, 8)
			if keyByte(byte(v)) {
				return "", false // keyToken keeps such bytes as they are
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }
