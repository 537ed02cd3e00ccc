package cluster

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

// fullMeta is a NodeMeta with every field set, as a node publishes it.
func fullMeta() NodeMeta {
	return NodeMeta{
		Name:        "node-a.prod.example.com",
		ActorAddr:   "10.20.30.40:8090",
		HTTPAddr:    "10.20.30.40:8080",
		GossipAddr:  "10.20.30.40:7946",
		Slots:       16,
		Version:     "v1.4.2-rc.1+build.20261201",
		StartTime:   1796000000123456789,
		Incarnation: 0x0123456789abcdef,
		Extra:       map[string]string{"nats": "nats-route://10.20.30.40:6222", "zone": "eu-west-1b"},
	}
}

// minimalMeta has only the required fields.
func minimalMeta() NodeMeta {
	return NodeMeta{Name: "n", GossipAddr: "127.0.0.1:1", StartTime: 1, Incarnation: 1}
}

func TestMaxMetaSize_isMemberlistLimit(t *testing.T) {
	if MaxMetaSize != memberlist.MetaMaxSize {
		t.Fatalf("MaxMetaSize %d, memberlist.MetaMaxSize %d", MaxMetaSize, memberlist.MetaMaxSize)
	}
}

func TestNodeMeta_MarshalBinary_roundTrip(t *testing.T) {
	leaving := fullMeta()
	leaving.Leaving = true
	ipv6 := minimalMeta()
	ipv6.GossipAddr, ipv6.ActorAddr = "[fe80::1]:7946", "[::1]:0"
	for _, tc := range []struct {
		name string
		meta NodeMeta
	}{
		{"minimal", minimalMeta()},
		{"full", fullMeta()},
		{"leaving", leaving},
		{"ipv6", ipv6},
		{"max slots", func() NodeMeta { m := minimalMeta(); m.Slots = MaxSlots; return m }()},
		{"empty Extra is nil", func() NodeMeta { m := minimalMeta(); m.Extra = map[string]string{}; return m }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.meta.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got NodeMeta
			if err := got.UnmarshalBinary(raw); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.meta) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.meta)
			}
			again, err := got.MarshalBinary()
			if err != nil || !bytes.Equal(again, raw) {
				t.Fatalf("re-encoding differs (%v):\n%x\n%x", err, again, raw)
			}
		})
	}
}

// A realistic metadata leaves room for later fields.
func TestNodeMeta_MarshalBinary_typicalSize(t *testing.T) {
	raw, err := fullMeta().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > MaxMetaSize/2 {
		t.Fatalf("typical metadata takes %d of %d bytes", len(raw), MaxMetaSize)
	}
	t.Logf("typical metadata: %d bytes of %d", len(raw), MaxMetaSize)
}

func TestNodeMeta_MarshalBinary_tooLarge(t *testing.T) {
	long := strings.Repeat("x", MaxFieldLen+1)
	for _, tc := range []struct {
		name   string
		modify func(*NodeMeta)
		want   string // the field the error must name
	}{
		{"field over MaxFieldLen", func(m *NodeMeta) { m.ActorAddr = long + ":1" }, "ActorAddr is 258 bytes"},
		{"version over MaxFieldLen", func(m *NodeMeta) { m.Version = long }, "Version is 256 bytes"},
		{"Extra value over MaxFieldLen", func(m *NodeMeta) { m.Extra["nats"] = long }, `Extra["nats"] is 256 bytes`},
		{"Extra key over MaxFieldLen", func(m *NodeMeta) { m.Extra[long] = "v" }, "Extra key"},
		{"total over MaxMetaSize", func(m *NodeMeta) {
			m.Version = strings.Repeat("v", 200)
			m.Extra["route"] = strings.Repeat("r", 250)
		}, `the longest field is Extra["route"] (250 bytes)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fullMeta()
			tc.modify(&m)
			_, err := m.MarshalBinary()
			if !errors.Is(err, ErrMetaTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrMetaTooLarge naming %q", err, tc.want)
			}
		})
	}
}

func TestNodeMeta_Validate_errors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*NodeMeta)
		want   string
	}{
		{"no name", func(m *NodeMeta) { m.Name = "" }, "Name is empty"},
		{"name not UTF-8", func(m *NodeMeta) { m.Name = "a\xffb" }, "Name is not valid UTF-8"},
		{"no gossip address", func(m *NodeMeta) { m.GossipAddr = "" }, "GossipAddr is empty"},
		{"gossip address without port", func(m *NodeMeta) { m.GossipAddr = "10.0.0.1" }, "GossipAddr \"10.0.0.1\" is not host:port"},
		{"actor address without host", func(m *NodeMeta) { m.ActorAddr = ":8090" }, "ActorAddr \":8090\" has no host"},
		{"HTTP port not a number", func(m *NodeMeta) { m.HTTPAddr = "h:http" }, "HTTPAddr \"h:http\" has no numeric port"},
		{"HTTP port too big", func(m *NodeMeta) { m.HTTPAddr = "h:65536" }, "HTTPAddr \"h:65536\" has no numeric port"},
		{"negative slots", func(m *NodeMeta) { m.Slots = -1 }, "Slots -1"},
		{"no start time", func(m *NodeMeta) { m.StartTime = 0 }, "StartTime 0"},
		{"no incarnation", func(m *NodeMeta) { m.Incarnation = 0 }, "Incarnation is 0"},
		{"empty Extra key", func(m *NodeMeta) { m.Extra[""] = "v" }, "Extra has an empty key"},
		{"Extra value not UTF-8", func(m *NodeMeta) { m.Extra["k"] = "\xc0" }, `Extra["k"] is not valid UTF-8`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fullMeta()
			tc.modify(&m)
			err := m.Validate()
			if !errors.Is(err, ErrMeta) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrMeta naming %q", err, tc.want)
			}
			if _, err := m.MarshalBinary(); !errors.Is(err, ErrMeta) {
				t.Fatalf("MarshalBinary: got %v, want ErrMeta", err)
			}
		})
	}
}

func TestNodeMeta_UnmarshalBinary_garbage(t *testing.T) {
	valid, err := fullMeta().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	minimal, err := minimalMeta().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(b []byte, i int, v byte) []byte { b = bytes.Clone(b); b[i] = v; return b }
	for _, tc := range []struct {
		name string
		data []byte
		is   error
		want string
	}{
		{"empty", nil, ErrMeta, "magic: truncated"},
		{"bad magic", with(valid, 0, '{'), ErrMeta, "magic byte 0x7b"},
		{"newer version", with(valid, 1, 2), ErrMetaVersion, "version 2, this build reads 1"},
		{"unknown flag", with(valid, 2, 0x82), ErrMeta, "flags 0x82"},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrMeta, "1 bytes after the last field"},
		{"over MaxMetaSize", append(bytes.Clone(valid), make([]byte, MaxMetaSize)...), ErrMetaTooLarge, "over memberlist's 512"},
		// minimal: 't' 1 0, Name "n" at [3:5]; a length of 0x80 0x00 is 0, not minimal.
		{"non-minimal varint", append(append([]byte{}, minimal[:3]...), append([]byte{0x81, 0x00}, minimal[4:]...)...),
			ErrMeta, "Name length: varint is not minimal"},
		{"field over MaxFieldLen", append(bytes.Clone(minimal[:3]), 0x80, 0x02), ErrMeta, "Name: 256 bytes, over 255"},
		{"string past the end", append(bytes.Clone(minimal[:3]), 10, 'a'), ErrMeta, "Name: truncated: needs 10 bytes, 1 left"},
		{"Extra keys out of order", extraEncoding(t, "b", "a"), ErrMeta, `"a" is not after "b"`},
		{"Extra key twice", extraEncoding(t, "a", "a"), ErrMeta, `"a" is not after "a"`},
		{"Extra count too big", append(bytes.Clone(minimal[:len(minimal)-1]), 100), ErrMeta, "Extra count: 100 entries in 0 bytes"},
		{"decodes to invalid meta", with(minimal, 4, 0xff), ErrMeta, "Name is not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fullMeta()
			err := m.UnmarshalBinary(tc.data)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v naming %q", err, tc.is, tc.want)
			}
			if !m.Equal(fullMeta()) {
				t.Fatalf("a failed decode changed the target: %+v", m)
			}
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(valid) {
			var m NodeMeta
			if err := m.UnmarshalBinary(valid[:n]); !errors.Is(err, ErrMeta) {
				t.Fatalf("first %d of %d bytes: got %v, want ErrMeta", n, len(valid), err)
			}
		}
	})
}

// extraEncoding encodes minimalMeta with the Extra keys given in this
// order, each with value "v", which MarshalBinary never writes.
func extraEncoding(t *testing.T, keys ...string) []byte {
	t.Helper()
	raw, err := minimalMeta().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw[:len(raw)-1], byte(len(keys))) // replace the count 0
	for _, k := range keys {
		raw = appendString(appendString(raw, k), "v")
	}
	return raw
}
