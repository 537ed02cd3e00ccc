package enrich

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Record is one input or output line: a JSON object with an integer "id".
// Its other members are kept undecoded, so any value passes through as it
// came.
//
// A Record is read-only once it is in a stream: the pipeline copies Fields
// before it changes them, since the async operator may call the service
// for the same input record again (a retry, a restore).
type Record struct {
	// ID is the object's "id", an integer in the range of int64.
	ID int64
	// Fields holds every member but "id", as raw JSON values.
	Fields map[string]json.RawMessage
}

// ErrorField is the member an output record carries when its call failed
// for good and Config.OnError is EmitErrors.
const ErrorField = "error"

// UnmarshalJSON decodes a JSON object with an integer "id". Anything else
// (an array, null, a missing, fractional, quoted or null id) is an error
// wrapping ErrRecord.
func (r *Record) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return fmt.Errorf("%w: not a JSON object", ErrRecord)
	}
	raw, ok := m["id"]
	if !ok {
		return fmt.Errorf("%w: no \"id\" member", ErrRecord)
	}
	var id int64
	if bytes.Equal(raw, []byte("null")) || json.Unmarshal(raw, &id) != nil {
		return fmt.Errorf("%w: \"id\" is %s, not an integer", ErrRecord, raw)
	}
	delete(m, "id")
	r.ID, r.Fields = id, m
	return nil
}

// MarshalJSON encodes the record as one JSON object, "id" first and the
// other members in key order, so that equal records give equal lines. A
// member named "id" in Fields is ignored: ID is the record's id.
func (r Record) MarshalJSON() ([]byte, error) {
	b := strconv.AppendInt([]byte(`{"id":`), r.ID, 10)
	for _, k := range slices.Sorted(maps.Keys(r.Fields)) {
		if k == "id" {
			continue
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		v := r.Fields[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		b = append(append(append(append(b, ','), key...), ':'), v...)
	}
	return append(b, '}'), nil
}

// Field decodes the member name into v; it reports false when the record
// has no such member or it does not decode into v.
func (r Record) Field(name string, v any) bool {
	raw, ok := r.Fields[name]
	return ok && json.Unmarshal(raw, v) == nil
}

// merge returns a copy of r with the members of a service's reply added.
// The reply's members win over the input's of the same name, since the
// service is what the job asks for fresh values; the reply's "id" is
// ignored, as the id is the record's identity and the request's key.
func (r Record) merge(reply map[string]json.RawMessage) Record {
	f := make(map[string]json.RawMessage, len(r.Fields)+len(reply))
	maps.Copy(f, r.Fields)
	for k, v := range reply {
		if k != "id" {
			f[k] = v
		}
	}
	return Record{ID: r.ID, Fields: f}
}

// withError returns a copy of r whose ErrorField holds msg, replacing any
// input member of that name.
func (r Record) withError(msg string) Record {
	v, _ := json.Marshal(msg) // a string always encodes
	return r.merge(map[string]json.RawMessage{ErrorField: v})
}
