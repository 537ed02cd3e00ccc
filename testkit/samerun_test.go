package testkit

import (
	"math"
	"testing"
)

type total struct {
	Key string
	Sum int
}

// The output of a run with failures equals a clean run's as a multiset:
// order does not matter, a missing or a repeated record does (issue 18,
// item 7).
func TestAssertSameAsCleanRun(t *testing.T) {
	clean := []total{{"a", 1}, {"b", 2}, {"a", 1}}
	AssertSameAsCleanRun(t, clean, []total{{"a", 1}, {"a", 1}, {"b", 2}})
	msg := failure(t, func(tb testing.TB) {
		AssertSameAsCleanRun(tb, clean, []total{{"a", 1}, {"b", 2}, {"b", 2}, {"c", 3}})
	})
	wantContains(t, msg, "1 missing", "{Key:a Sum:1}", "2 extra", "{Key:b Sum:2}", "{Key:c Sum:3}")
}

func TestCheckSameAsCleanRun_report(t *testing.T) {
	r := CheckSameAsCleanRun([]int{1, 2, 2, 3}, []int{2, 3, 3, 4})
	if r.OK() || r.Missing != 2 || r.Extra != 2 || r.Clean != 4 || r.Got != 4 {
		t.Fatalf("report %+v: want 2 missing (1, 2) and 2 extra (3, 4)", r)
	}
	if r := CheckSameAsCleanRun([]int{3, 1}, []int{1, 3}); !r.OK() {
		t.Fatalf("same multiset reported %v", r)
	}
}

// userCount is a result type as Go tests write them: unexported fields.
type userCount struct {
	user string
	n    int
}

// Records compare by their whole value, unexported fields included: a
// run that lost one key's result and duplicated another's is caught,
// where a JSON encoding ({} for every such record) saw only the count.
func TestCheckSameAsCleanRun_unexportedFields(t *testing.T) {
	clean := []userCount{{"ann", 3}, {"bob", 1}}
	got := []userCount{{"ann", 3}, {"ann", 3}} // bob's result lost, ann's duplicated
	r := CheckSameAsCleanRun(clean, got)
	if r.Missing != 1 || r.Extra != 1 {
		t.Fatalf("CheckSameAsCleanRun(%v, %v) = %v: want 1 missing {bob 1} and 1 extra {ann 3}", clean, got, r)
	}
	wantContains(t, r.String(), "{user:bob n:1}", "{user:ann n:3}")
	if r := CheckSameAsCleanRun(clean, []userCount{{"bob", 1}, {"ann", 3}}); !r.OK() {
		t.Fatalf("same multiset reported %v", r)
	}
}

// node is a value with pointers, maps and interfaces, possibly cyclic.
type node struct {
	name  string
	next  *node
	attrs map[string]any
	tags  []string
}

// valueKey tells values apart as reflect.DeepEqual does, except that a
// nil slice or map equals an empty one, NaN equals NaN and -0 equals 0.
func TestValueKey(t *testing.T) {
	cyclic := func(name string) *node {
		n := &node{name: name}
		n.next = n
		return n
	}
	for _, tt := range []struct {
		name  string
		a, b  any
		equal bool
	}{
		{"unexported fields", userCount{"ann", 1}, userCount{"bob", 1}, false},
		{"same fields", userCount{"ann", 1}, userCount{"ann", 1}, true},
		{"pointers followed", &node{name: "a", next: &node{name: "b"}}, &node{name: "a", next: &node{name: "b"}}, true},
		{"pointee differs", &node{name: "a", next: &node{name: "b"}}, &node{name: "a", next: &node{name: "c"}}, false},
		{"map order", node{attrs: map[string]any{"x": 1, "y": "2"}}, node{attrs: map[string]any{"y": "2", "x": 1}}, true},
		{"interface types", node{attrs: map[string]any{"x": 1}}, node{attrs: map[string]any{"x": int64(1)}}, false},
		{"string is not a number", node{attrs: map[string]any{"x": 1}}, node{attrs: map[string]any{"x": "1"}}, false},
		{"nil and empty", node{tags: nil, attrs: nil}, node{tags: []string{}, attrs: map[string]any{}}, true},
		{"slice elements", node{tags: []string{"a,b"}}, node{tags: []string{"a", "b"}}, false},
		{"nil pointer", &node{}, &node{next: &node{}}, false},
		{"cycles end", cyclic("a"), cyclic("a"), true},
		{"cycles differ", cyclic("a"), cyclic("b"), false},
		{"NaN", math.NaN(), math.NaN(), true},
		{"negative zero", math.Copysign(0, -1), 0.0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := valueKey(tt.a) == valueKey(tt.b); got != tt.equal {
				t.Fatalf("keys of %+v and %+v equal: %v, want %v (%s, %s)", tt.a, tt.b, got, tt.equal, valueKey(tt.a), valueKey(tt.b))
			}
		})
	}
}
