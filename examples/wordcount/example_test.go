package wordcount_test

import (
	"fmt"

	"github.com/troupe-dev/troupe/examples/wordcount"
)

func ExampleWords() {
	fmt.Printf("%q\n", wordcount.Words("Go, go! Ünïcode 42x -- don't"))
	// Output: ["go" "go" "ünïcode" "42x" "don" "t"]
}
