package enrich_test

import (
	"encoding/json"
	"fmt"

	"github.com/troupe-dev/troupe/examples/enrich"
)

// A record keeps its members undecoded and writes "id" first, the others
// in key order.
func ExampleRecord() {
	var r enrich.Record
	if err := json.Unmarshal([]byte(`{"name": "ada", "id": 7, "tags": ["x"]}`), &r); err != nil {
		fmt.Println(err)
		return
	}
	var name string
	r.Field("name", &name)
	b, _ := json.Marshal(r)
	fmt.Println(r.ID, name)
	fmt.Println(string(b))
	// Output:
	// 7 ada
	// {"id":7,"name":"ada","tags":["x"]}
}

// The retry parameters of the registered pipeline: attempts in all and a
// backoff; only 5xx and 429 replies and transport errors are retried.
func ExampleParseRetry() {
	r, err := enrich.ParseRetry(4, "exp:10ms:2:50ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	for attempt := 1; attempt <= 4; attempt++ {
		delay, retry := r.Next(attempt, enrich.ErrUnavailable, false)
		fmt.Println(attempt, delay, retry)
	}
	_, retry := r.Next(1, enrich.ErrRejected, false)
	fmt.Println("4xx retried:", retry)
	// Output:
	// 1 10ms true
	// 2 20ms true
	// 3 40ms true
	// 4 0s false
	// 4xx retried: false
}
