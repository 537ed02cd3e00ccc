package actors_test

import (
	"fmt"
	"os"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// A pipeline registered by name with one parameter, then built from values
// such as a command line gives.
func ExampleRegistry() {
	reg := actors.NewRegistry()
	reg.MustRegister(actors.PipelineSpec{
		Name:        "squares",
		Description: "print the squares of 0..n-1",
		Params:      []actors.Param{{Name: "n", Description: "how many", Default: "3"}},
		Build: func(ps actors.Params) (*operators.Pipeline, error) {
			n, err := ps.Int("n")
			if err != nil {
				return nil, err
			}
			p := operators.NewPipeline("squares")
			sq := operators.Generate(p, int64(n), func(i int64) int64 { return i * i })
			operators.Print(sq)
			return p, nil
		},
	})

	if _, err := reg.Build("squares", map[string]string{"n": "ten"}, 0); err != nil {
		fmt.Println(err)
	}
	if _, err := reg.Build("squares", map[string]string{"m": "1"}, 0); err != nil {
		fmt.Println(err)
	}
	if _, err := reg.Build("cubes", nil, 0); err != nil {
		fmt.Println(err)
	}
	p, err := reg.Build("squares", map[string]string{"n": "4"}, 2)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(p.Name())
	// Output:
	// actors: build pipeline "squares": actors: bad pipeline parameter: n="ten": not an integer
	// actors: bad pipeline parameter: pipeline "squares" has no parameter "m" (it has: n)
	// actors: unknown pipeline "cubes" (known: squares)
	// squares
}
