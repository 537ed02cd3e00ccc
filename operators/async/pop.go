package async

// Pop removes and returns the next entry the mode allows to leave, or
// false when none may leave yet. Only the first segment releases entries:
// first its ready records (in completion order), then, once it has no
// record left, the marker closing it, which makes the next segment first.
func (q *Queue[In, Out]) Pop() (Entry[In, Out], bool) {
	seg := q.segs.at(0)
	if s, ok := seg.ready.pop(); ok {
		seg.records--
		return q.popRecord(s), true
	}
	if seg.records == 0 && seg.marker != none {
		return q.popMarker(), true
	}
	return Entry[In, Out]{}, false
}

func (q *Queue[In, Out]) popRecord(s int32) Entry[In, Out] {
	e := &q.slots[s]
	out := Entry[In, Out]{Kind: KindRecord, Handle: Handle{seq: e.seq, slot: s},
		In: e.in, Ts: e.ts, Key: e.key, Results: e.results, Err: e.err}
	q.unlink(s)
	q.release(s)
	return out
}

func (q *Queue[In, Out]) popMarker() Entry[In, Out] {
	seg, _ := q.segs.pop()
	out := Entry[In, Out]{Kind: KindMarker, Marker: q.slots[seg.marker].marker}
	q.release(seg.marker)
	q.firstSeg++
	seg.ready.reset()
	q.spare = append(q.spare, seg.ready)
	return out
}

// link appends record s to its chain and reports whether it heads the
// chain within its segment, that is whether it may leave once completed
// and its segment is first. In Unordered mode every record may.
func (q *Queue[In, Out]) link(s int32) bool {
	if q.mode == Unordered {
		return true
	}
	e := &q.slots[s]
	c, head := q.chain(e.key), true
	if c.tail == none {
		c.head = s
	} else {
		prev := &q.slots[c.tail]
		prev.next = s
		// A predecessor in an earlier segment leaves before this
		// segment becomes first, so it does not hold this record back.
		head = prev.seg != e.seg
	}
	c.tail = s
	q.setChain(e.key, c)
	return head
}

// unlink removes record s, which is leaving, from the head of its chain.
// Its successor in the same segment now heads the chain there and, if
// already completed, becomes ready. A successor in a later segment was
// marked as a head when it was put.
func (q *Queue[In, Out]) unlink(s int32) {
	if q.mode == Unordered {
		return
	}
	e := &q.slots[s]
	c := q.chain(e.key)
	c.head = e.next
	if c.head == none {
		c.tail = none
	} else if n := &q.slots[c.head]; n.seg == e.seg {
		n.segHead = true
		if n.done {
			q.segs.at(0).ready.push(c.head)
		}
	}
	q.setChain(e.key, c)
}

func (q *Queue[In, Out]) chain(key uint64) chain {
	if q.mode == Ordered {
		return q.one
	}
	if c, ok := q.keys[key]; ok {
		return c
	}
	return emptyChain
}

// setChain stores c, deleting empty chains so that the key map holds only
// keys with records in the queue.
func (q *Queue[In, Out]) setChain(key uint64, c chain) {
	switch {
	case q.mode == Ordered:
		q.one = c
	case c.head == none:
		delete(q.keys, key)
	default:
		q.keys[key] = c
	}
}
