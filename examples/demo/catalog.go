package demo

import (
	"context"
	"fmt"
	"hash/maphash"
	"time"
)

// AuctionInfo is what the catalog knows of an auction.
type AuctionInfo struct {
	Category string `json:"category"`
	Seller   int64  `json:"seller"`
	Reserve  int64  `json:"reserve"`
}

// Catalog is the demo's in-process "remote" service: Lookup answers after
// a delay between MinLatency and MaxLatency, and fails one call in
// FailEvery with ErrUnavailable (retried by the pipeline). Its answers
// are a pure function of the auction id. Safe for concurrent use.
type Catalog struct {
	MinLatency, MaxLatency time.Duration
	FailEvery              uint64 // 0: never fails
	seed                   maphash.Seed
}

// NewCatalog returns the catalog the demo uses: 1 to 5 ms, one call in
// 200 failing.
func NewCatalog() *Catalog {
	return &Catalog{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond, FailEvery: 200, seed: maphash.MakeSeed()}
}

var categories = [...]string{"books", "cameras", "garden", "music", "toys"}

// Lookup returns the auction's info after the catalog's delay, or ctx's
// error if it ends first.
func (c *Catalog) Lookup(ctx context.Context, auction int64) (AuctionInfo, error) {
	draw := maphash.Comparable(c.seed, [2]int64{auction, time.Now().UnixNano()})
	delay := c.MinLatency
	if span := c.MaxLatency - c.MinLatency; span > 0 {
		delay += time.Duration(draw % uint64(span))
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return AuctionInfo{}, fmt.Errorf("demo: catalog lookup of auction %d: %w", auction, ctx.Err())
	case <-t.C:
	}
	if c.FailEvery > 0 && draw/1000%c.FailEvery == 0 {
		return AuctionInfo{}, fmt.Errorf("auction %d: %w", auction, ErrUnavailable)
	}
	return AuctionInfo{Category: categories[auction%int64(len(categories))], Seller: 1000 + auction%97,
		Reserve: 100 + auction%900}, nil
}
