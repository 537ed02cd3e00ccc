package operators

// The chain's counts for metrics. Like every method of Chain they are
// called on the subtask's goroutine; the runtime copies what they return
// into values that a metrics scrape may read from another goroutine.

// SourceRecords returns how many records the chain's source has emitted
// into the chain since it opened; 0 for a chain without a source.
func (c *Chain) SourceRecords() int64 {
	if e, ok := c.Source.(interface{ Emitted() int64 }); ok {
		return e.Emitted()
	}
	return 0
}

// SinkRecords returns how many records the chain's sink has written since
// it opened; 0 for a chain that does not end in a sink.
func (c *Chain) SinkRecords() int64 {
	if c.sink == nil {
		return 0
	}
	return c.sink.Written()
}

// OutputWatermark returns the last watermark the chain emitted (to its
// output channels, or to nothing when it ends in a sink); MinWatermark
// before the first. Watermark is its input watermark.
func (c *Chain) OutputWatermark() int64 { return c.outWM }
