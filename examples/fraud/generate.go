package fraud

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"
)

// Generate writes n transactions of accounts accounts as JSON lines to w,
// from start (epoch ms), one about every 100 ms, each up to 2 s out of
// time order (less than DefaultOutOfOrder, so that none is late). Amounts
// are $1 to $200; now and then an account spends ten times more for a
// while, enough for an alert. A seed always gives the same transactions.
func Generate(w io.Writer, n, accounts int, start int64, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	enc := json.NewEncoder(w)
	spree, spreeLeft := -1, 0
	for i := range n {
		t := Txn{ID: int64(i), Account: fmt.Sprintf("acct-%03d", r.IntN(accounts)),
			Amount: 100 + r.Int64N(20_000), At: start + int64(i)*100 - r.Int64N(2000)}
		if spreeLeft == 0 && r.IntN(300) == 0 {
			spree, spreeLeft = r.IntN(accounts), 40
		}
		if spreeLeft > 0 {
			t.Account, t.Amount = fmt.Sprintf("acct-%03d", spree), t.Amount*10
			spreeLeft--
		}
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	return nil
}

// Reference computes what the pipeline emits for txns when none is late:
// every account's spending per window, sorted by account and window.
func Reference(txns []Txn, size time.Duration, limit int64) []Spend {
	ms := size.Milliseconds()
	type key struct {
		account string
		start   int64
	}
	sums := map[key]*Spend{}
	for _, t := range txns {
		k := key{t.Account, t.At - t.At%ms}
		s := sums[k]
		if s == nil {
			s = &Spend{Account: t.Account, Start: k.start, End: k.start + ms}
			sums[k] = s
		}
		s.Amount += t.Amount
		s.Count++
	}
	out := make([]Spend, 0, len(sums))
	for _, s := range sums {
		s.Alert = s.Amount > limit
		out = append(out, *s)
	}
	slices.SortFunc(out, compareSpends)
	return out
}

// compareSpends orders spends by account, then window.
func compareSpends(a, b Spend) int {
	return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Start, b.Start))
}

// ReadTxns reads transactions written by Generate.
func ReadTxns(r io.Reader) ([]Txn, error) {
	dec := json.NewDecoder(r)
	var out []Txn
	for dec.More() {
		var t Txn
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("fraud: transaction %d: %w", len(out)+1, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// SortSpends sorts spends as Reference does, so that a pipeline's output
// compares with it.
func SortSpends(s []Spend) { slices.SortFunc(s, compareSpends) }
