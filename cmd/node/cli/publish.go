package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/troupe-dev/troupe/examples/nexmark"
	"github.com/troupe-dev/troupe/operators/jetstream"
)

const publishUsage = `Usage: node publish nexmark nats://HOST:PORT/STREAM[?subject=PREFIX]
                    [--events N] [--from N] [--seed S]

Stores events of the built-in Nexmark generator in a JetStream stream, for
demos and tests of the pipelines' nats:// inputs. Event n goes to subject
PREFIX.person, PREFIX.auction or PREFIX.bid (PREFIX: the URL's subject,
default nexmark); a missing stream is created over PREFIX.>. Each event
carries the message ID nexmark.<seed>.<n>, so publishing the same events
again within the stream's duplicate window stores nothing twice.

Then, for example:
  node run nexmark -p query=q5 \
      -p input='nats://HOST:PORT/STREAM?subject=nexmark.bid&bounded=true'

Flags:
  --events N  how many events (default 100000)
  --from N    the number of the first event (default 0)
  --seed S    the generator's seed (default 0)
  -h, --help  show this help

Exit codes: 0 stored, 1 the server failed, 2 usage error.
`

// publishArgs is a parsed publish command line.
type publishArgs struct {
	source string
	url    string
	events int64
	from   int64
	seed   uint64
}

func parsePublish(args []string) (publishArgs, error) {
	pa := publishArgs{events: 100_000}
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	nonNegative := func(dst *int64) func(string) error {
		return func(s string) error {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("want a whole number of at least 0")
			}
			*dst = n
			return nil
		}
	}
	fs.Func("events", "", nonNegative(&pa.events))
	fs.Func("from", "", nonNegative(&pa.from))
	fs.Func("seed", "", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number of at least 0")
		}
		pa.seed = n
		return nil
	})
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return pa, err
	}
	switch {
	case len(positional) == 0:
		return pa, fmt.Errorf("missing what to publish (nexmark)")
	case positional[0] != "nexmark":
		return pa, fmt.Errorf("cannot publish %q; only nexmark", positional[0])
	case len(positional) == 1:
		return pa, fmt.Errorf("missing the stream's nats:// URL")
	case len(positional) > 2:
		return pa, fmt.Errorf("unexpected argument %q", positional[2])
	}
	pa.source, pa.url = positional[0], positional[1]
	return pa, nil
}

// publish loads Nexmark events into a stream. SIGINT or SIGTERM stops it.
func (c *command) publish(args []string) int {
	pa, err := parsePublish(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.stdout, publishUsage)
		return ExitOK
	}
	if err != nil {
		return c.usageError("publish", err)
	}
	ep, err := jetstream.ParseURL(pa.url)
	if err != nil {
		return c.usageError("publish", err)
	}
	g, err := nexmark.NewGenerator(nexmark.GeneratorConfig{Seed: pa.seed})
	if err != nil {
		return c.usageError("publish", err)
	}
	signals, stop := c.notify()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, which the next defer runs first
	defer cancel()
	wg.Go(func() { // a signal cancels the load; the command's end, this goroutine
		select {
		case <-signals:
			cancel()
		case <-ctx.Done():
		}
	})
	stored, dups, err := nexmark.Publish(ctx, ep, g, pa.from, pa.from+pa.events)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s publish: %v\n", c.prog, err)
		return ExitFailed
	}
	fmt.Fprintf(c.stderr, "%s publish: stream %s: %d events stored, %d already there\n", c.prog, ep.Stream, stored, dups)
	return ExitOK
}
