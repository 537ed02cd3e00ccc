package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-dev/troupe/cluster"
)

// DefaultMaxBodySize is the largest request body the handler reads unless
// WithMaxBodySize says otherwise. A job request is a few hundred bytes.
const DefaultMaxBodySize = 1 << 20

// SavepointRequest is the body of POST /v1/jobs/{id}/savepoint; an empty
// body is the zero value.
type SavepointRequest struct {
	// Stop cancels the job once the savepoint is complete.
	Stop bool `json:"stop,omitempty"`
}

// readBody reads r's body, at most limit bytes, and checks its content
// type: a non-empty body must be application/json (charset utf-8 if one
// is given). An empty body is returned as nil.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Name: "body",
			Reason: fmt.Sprintf("longer than %d bytes", limit)}
	}
	if err != nil {
		return nil, badField("body", "cannot read it: %v", err)
	}
	if len(body) == 0 {
		return nil, nil
	}
	return body, checkContentType(r.Header.Get("Content-Type"))
}

func checkContentType(ct string) error {
	unsupported := func(format string, args ...any) error {
		return &RequestError{Status: http.StatusUnsupportedMediaType, Name: "Content-Type", Reason: fmt.Sprintf(format, args...)}
	}
	if ct == "" {
		return unsupported("missing; want application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return unsupported("%q; want application/json", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported("charset %q; want utf-8", cs)
	}
	return nil
}

// DecodeJobRequest decodes the body of POST /v1/jobs strictly: one JSON
// object, no unknown field, nothing after it. It then checks what can be
// checked without the registry: a pipeline name is given, parallelism is
// not negative, checkpointInterval is a positive Go duration, unaligned
// and alignmentTimeout come with checkpoints, stateBackend is heap or
// bbolt, parameter names are not empty. The error is a
// *RequestError naming the field.
func DecodeJobRequest(body []byte) (cluster.JobRequest, error) {
	var req cluster.JobRequest
	if err := decodeObject(body, &req); err != nil {
		return cluster.JobRequest{}, err
	}
	if err := checkJobRequest(req); err != nil {
		return cluster.JobRequest{}, err
	}
	return req, nil
}

func checkJobRequest(req cluster.JobRequest) error {
	if strings.TrimSpace(req.Pipeline) == "" {
		return badField("pipeline", "missing; give a registered pipeline's name")
	}
	if req.Parallelism < 0 {
		return badField("parallelism", "%d is negative; give at least 1, or omit it for the pipeline's own", req.Parallelism)
	}
	if req.CheckpointInterval != "" {
		d, err := time.ParseDuration(req.CheckpointInterval)
		if err != nil || d <= 0 {
			return badField("checkpointInterval", "%q is not a positive duration such as \"200ms\" or \"10s\"; omit it to turn checkpoints off", req.CheckpointInterval)
		}
	}
	if err := checkUnalignedRequest(req); err != nil {
		return err
	}
	switch req.StateBackend {
	case "", "heap", "bbolt":
	default:
		return badField("stateBackend", "unknown state backend %q; want \"heap\" or \"bbolt\"", req.StateBackend)
	}
	if _, ok := req.Params[""]; ok {
		return badField("params", "a parameter has an empty name")
	}
	return nil
}

// checkUnalignedRequest checks unaligned and alignmentTimeout.
func checkUnalignedRequest(req cluster.JobRequest) error {
	if req.Unaligned && req.CheckpointInterval == "" {
		return badField("unaligned", "needs checkpointInterval: unaligned checkpoints are checkpoints")
	}
	if req.AlignmentTimeout == "" {
		return nil
	}
	if d, err := time.ParseDuration(req.AlignmentTimeout); err != nil || d < 0 {
		return badField("alignmentTimeout", "%q is not a duration such as \"50ms\"", req.AlignmentTimeout)
	}
	if !req.Unaligned {
		return badField("alignmentTimeout", "needs \"unaligned\": true")
	}
	return nil
}

// DecodeSavepointRequest decodes the body of POST
// /v1/jobs/{id}/savepoint as strictly as DecodeJobRequest; an empty body
// asks for a savepoint without stop.
func DecodeSavepointRequest(body []byte) (SavepointRequest, error) {
	var req SavepointRequest
	if len(body) == 0 {
		return req, nil
	}
	err := decodeObject(body, &req)
	return req, err
}

// decodeEmpty accepts the body of a request that takes no fields: empty,
// or an object with none.
func decodeEmpty(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	return decodeObject(body, &struct{}{})
}

// decodeObject decodes body, which must hold exactly one JSON object, into
// v, rejecting fields v does not have.
func decodeObject(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return badField("body", "empty; want a JSON object")
	}
	if trimmed[0] != '{' {
		return badField("body", "not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badField("body", "data after the JSON object at offset %d", dec.InputOffset())
	}
	return nil
}

// jsonError turns an error of encoding/json into a RequestError naming
// the field when there is one.
func jsonError(err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return badField(te.Field, "want a JSON %s, got %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	if name, ok := unknownField(err); ok {
		if name == "" { // a key "" has no name to report
			return badField("body", "unknown field \"\"")
		}
		return badField(name, "unknown field")
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return badField("body", "malformed JSON at offset %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return badField("body", "malformed JSON: it ends too soon")
	}
	return badField("body", "malformed JSON: %v", err)
}

// unknownField extracts the name from encoding/json's error for an
// unknown field, which has no type of its own: `json: unknown field "x"`.
func unknownField(err error) (string, bool) {
	rest, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	name, uerr := strconv.Unquote(rest)
	if uerr != nil {
		return rest, true
	}
	return name, true
}

// jsonKind names a Go kind as a JSON type, for errors.
func jsonKind(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	}
	return kind
}
