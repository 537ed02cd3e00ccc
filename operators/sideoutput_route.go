package operators

// A subtask's output channels (Vertex.OutputChannels) are those of every
// edge leaving its vertex: the edges of the tail's main output and the
// side-output edges of any of its operators, which may sit mid-chain.
// Side-output edges are never chained. Each group of edges gets its own
// typed router over its share of the channels, created when the chain
// opens: one for the tail's main output and one per (operator, tag).
// Events (watermarks, status, barriers) and flushes go through all of them
// (fanout), so every channel sees them in order with its records.

// outputRoutes returns the route of each of v.Outputs, numbered as
// OutputChannels numbers the channels.
func (v *Vertex) outputRoutes() []route {
	rs := make([]route, len(v.Outputs))
	base := 0
	for i, e := range v.Outputs {
		w := e.fanOut()
		rs[i] = route{part: e.Partitioning, base: base, width: w, maxPar: v.MaxParallelism, hash: e.e.hash}
		base += w
	}
	return rs
}

// routesOf returns the routes of the edges leaving from n carrying side
// (nil: n's main output).
func (v *Vertex) routesOf(all []route, n *node, side *sideDecl) []route {
	var rs []route
	for i, e := range v.Outputs {
		if e.e.from == n && e.e.side == side {
			rs = append(rs, all[i])
		}
	}
	return rs
}

// openRouters creates the chain's routers. It returns the tail's main
// output collector (nil when the tail is a sink) and, for each operator
// with consumed side outputs, its side collectors by tag ID.
func (c *Chain) openRouters(v *Vertex, cfg ChainConfig) (any, map[*node]map[string]any) {
	all := v.outputRoutes()
	batch := max(cfg.BatchSize, 1)
	var routers fanout
	var out any
	tail := v.nodes[len(v.nodes)-1]
	if tail.kind != kindSink {
		r := tail.out.newRouter(v.routesOf(all, tail, nil), cfg.Ship, cfg.Subtask, batch, cfg.BatchBytes)
		routers = append(routers, r)
		c.outLens = append(c.outLens, tail.out.batchLen)
		out = r
	}
	sides := map[*node]map[string]any{}
	for _, n := range v.nodes {
		for id, d := range n.sides {
			rs := v.routesOf(all, n, d)
			if len(rs) == 0 {
				continue // declared, but nothing consumes it
			}
			r := d.st.newRouter(rs, cfg.Ship, cfg.Subtask, batch, cfg.BatchBytes)
			routers = append(routers, r)
			c.outLens = append(c.outLens, d.st.batchLen)
			if sides[n] == nil {
				sides[n] = map[string]any{}
			}
			sides[n][id] = r
		}
	}
	c.brake.run = runLength(routers.batchRecords())
	switch len(routers) {
	case 0:
	case 1:
		c.router = routers[0]
	default:
		c.router = routers
	}
	return out, sides
}

// fanout is the routers of a subtask with side outputs, seen as one.
type fanout []flushCollector

// Flush ships every router's partly filled batches.
func (f fanout) Flush() {
	for _, r := range f {
		r.Flush()
	}
}

// Emit ships ev on every output channel, after the records before it.
func (f fanout) Emit(ev Event) {
	for _, r := range f {
		r.Emit(ev)
	}
}

// batchRecords returns the fewest records a batch of any router holds;
// 0 without routers.
func (f fanout) batchRecords() int {
	n := 0
	for i, r := range f {
		if b := r.batchRecords(); i == 0 || b < n {
			n = b
		}
	}
	return n
}

// Buffered reports whether any router may hold a partly filled batch.
func (f fanout) Buffered() bool {
	for _, r := range f {
		if r.Buffered() {
			return true
		}
	}
	return false
}
