package nexmark

import "math/bits"

// How ids are chosen, as in Nexmark: new bids and auctions refer to the
// recent past (the last activePeople persons, the last inFlightAuctions
// auctions) and a little into the future (ids that a later event
// creates), and a "hot" share refers to one id per hundred.
const (
	activePeople     = 1000
	inFlightAuctions = 100
	personLead       = 10
	auctionLead      = 10
	hotRatio         = 100 // a hot id is the first of a block of this many
)

// lastPerson returns the base-0 id of the latest person created at or
// before event n.
func lastPerson(n int64) int64 { return n / totalProportion }

// lastAuction returns the base-0 id of the latest auction created at or
// before event n (-1 before the first).
func lastAuction(n int64) int64 {
	epoch, off := n/totalProportion, n%totalProportion
	switch {
	case off < personProportion:
		return epoch*auctionProportion - 1
	case off < personProportion+auctionProportion:
		return epoch*auctionProportion + off - personProportion
	default:
		return epoch*auctionProportion + auctionProportion - 1
	}
}

// nextPerson picks a base-0 person id among the active ones, or one of the
// next few to be created.
func nextPerson(n int64, r *rng) int64 {
	people := lastPerson(n) + 1
	active := min(people, activePeople)
	return people - active + r.intn(active+personLead)
}

// nextAuction picks a base-0 auction id among those in flight, or one of
// the next few to be created.
func nextAuction(n int64, r *rng) int64 {
	hi := max(lastAuction(n), 0)
	lo := max(hi-inFlightAuctions, 0)
	return lo + r.intn(hi-lo+1+auctionLead)
}

// bidAuction picks the auction of a bid: the hot one unless a 1 in ratio
// draw says a recent one.
func bidAuction(n, ratio int64, r *rng) int64 {
	if r.intn(ratio) > 0 {
		return lastAuction(n) / hotRatio * hotRatio
	}
	return nextAuction(n, r)
}

// hotPerson picks a person: the hot one (shifted by shift, so that the hot
// bidder is not the hot seller) unless a 1 in ratio draw says another.
func hotPerson(n, ratio, shift int64, r *rng) int64 {
	if r.intn(ratio) > 0 {
		return lastPerson(n)/hotRatio*hotRatio + shift
	}
	return nextPerson(n, r)
}

// rng is a SplitMix64 generator: tiny, fast, and good enough to make test
// data. Each event gets its own, seeded from the event number.
type rng struct{ s uint64 }

const golden = 0x9e3779b97f4a7c15

func newRNG(seed uint64, n int64) rng {
	return rng{s: mix64(mix64(uint64(n)+golden) ^ seed)}
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) next() uint64 {
	r.s += golden
	return mix64(r.s)
}

// intn returns a number in [0, n), n > 0, by multiply-shift.
func (r *rng) intn(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }
