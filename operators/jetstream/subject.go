package jetstream

import (
	"fmt"
	"strings"
)

// checkFilter rejects a subject filter the server would refuse (an empty
// token, a '>' before the last token, a wildcard inside a token, a space),
// early and with a clear message.
func checkFilter(f string) error {
	if f == "" {
		return fmt.Errorf("empty filter")
	}
	if strings.ContainsAny(f, " \t\r\n") {
		return fmt.Errorf("filter %q has a space", f)
	}
	toks := strings.Split(f, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return fmt.Errorf("filter %q has an empty token", f)
		case t == ">" && i != len(toks)-1:
			return fmt.Errorf("filter %q has '>' before its last token", f)
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("filter %q has a wildcard inside token %q", f, t)
		}
	}
	return nil
}

// overlap reports whether some subject matches both filters a and b
// (valid filters, see checkFilter): token by token, '*' matches any one
// token and '>' one or more to the end.
func overlap(a, b string) bool {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(at) && i < len(bt); i++ {
		switch {
		case at[i] == ">" || bt[i] == ">":
			return true // the other has a token here, and the rest is free
		case at[i] != bt[i] && at[i] != "*" && bt[i] != "*":
			return false
		}
	}
	return len(at) == len(bt)
}

// checkFilters validates the source's filters: each must be valid, and
// no two may overlap, since a message matching two filters would be read
// once by each of their splits.
func checkFilters(filters []string) error {
	for i, f := range filters {
		if err := checkFilter(f); err != nil {
			return err
		}
		for _, g := range filters[:i] {
			if g == f {
				return fmt.Errorf("filter %q is repeated", f)
			}
			if overlap(g, f) {
				return fmt.Errorf("filters %q and %q overlap: a message matching both would be read twice", g, f)
			}
		}
	}
	return nil
}
