package cli_test

import (
	"fmt"
	"os"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cmd/node/cli"
	"github.com/troupe-dev/troupe/operators"
)

// A program of one's own registers its pipelines and hands its command
// line to Main: in main, os.Exit(cli.Main(os.Args[1:], reg, os.Stdout,
// os.Stderr)). Its messages and usage texts name the program by its
// executable's name; here, a test binary, WithName names it.
func ExampleMain() {
	reg := actors.NewRegistry()
	reg.MustRegister(actors.PipelineSpec{
		Name:        "hello",
		Description: "greet someone",
		Params:      []actors.Param{{Name: "who", Description: "whom to greet", Default: "world"}},
		Build: func(ps actors.Params) (*operators.Pipeline, error) {
			p := operators.NewPipeline("hello")
			who := operators.FromSlice(p, []string{ps.String("who")})
			operators.Print(operators.Map(who, func(s string) string { return "hello, " + s }))
			return p, nil
		},
	})

	name := cli.WithName("greeter")
	code := cli.Main([]string{"pipelines"}, reg, os.Stdout, os.Stderr, name)
	fmt.Println("exit", code)
	code = cli.Main([]string{"run", "hello", "-p", "who=gophers"}, reg, os.Stdout, os.Stderr, name)
	fmt.Println("exit", code)
	code = cli.Main([]string{"run", "hello", "-p", "whom=gophers"}, reg, os.Stdout, os.Stdout, name)
	fmt.Println("exit", code)
	// Output:
	// hello  greet someone
	//     who  default world  whom to greet
	// exit 0
	// hello, gophers
	// exit 0
	// greeter run: actors: bad pipeline parameter: pipeline "hello" has no parameter "whom" (it has: who)
	// Run 'greeter pipelines' for the pipelines and their parameters, 'greeter run --help' for usage.
	// exit 2
}
