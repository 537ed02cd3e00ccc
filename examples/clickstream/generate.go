package clickstream

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
)

// Generate writes n clicks as JSON lines to w, in time order from start
// (epoch ms): users, pages and times on page drawn from a source seeded
// with seed, so that a seed always gives the same clicks. About one click
// in a hundred is invalid (no user, or no page). Users pause now and then
// for longer than a default session gap, so that they have several
// sessions; a few pages are far more popular than the rest.
func Generate(w io.Writer, n int, start int64, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	enc := json.NewEncoder(w)
	at := start
	for i := range n {
		at += r.Int64N(2000) // up to 2 s between clicks
		if r.IntN(200) == 0 {
			at += 40 * 60_000 // a pause: new sessions for everyone
		}
		c := Click{User: fmt.Sprintf("user-%d", r.IntN(25)), Page: page(r), At: at, Ms: 100 + r.Int64N(30_000)}
		switch {
		case i%100 == 37:
			c.User = ""
		case i%100 == 73:
			c.Page = ""
		}
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return nil
}

// page draws a page, the first few far more often.
func page(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return fmt.Sprintf("/hot/%d", r.IntN(3))
	}
	return fmt.Sprintf("/page/%d", r.IntN(40))
}
