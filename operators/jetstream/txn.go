package jetstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// txnVersion is the first byte of an encoded transaction.
const txnVersion = 1

// The encoding of a transaction, which is also its buffer while the epoch
// is open, so that records are encoded once, straight into it, and a
// snapshot copies nothing:
//
//	version byte
//	uvarint len(writer), writer
//	uvarint subtask
//	checkpoint: 8 bytes, big endian  (patched when the epoch ends)
//	count:      4 bytes, big endian  (patched when the epoch ends)
//	count × (uvarint subject index, payload length: 4 bytes big endian, payload)
//	uvarint len(subjects), then each: uvarint length, bytes
//
// The subjects come last because they are known only at the end.

// txn is one epoch's output of one sink subtask: its messages, encoded,
// in order, and what names them. It is immutable once pre-committed.
type txn struct {
	Writer     string // unique per run of a sink subtask (see newWriterID)
	Subtask    int
	Checkpoint int64 // the checkpoint that ended the epoch

	enc      []byte         // the encoding (see above); complete once closed
	fixed    int            // offset of the checkpoint field in enc
	subjects []string       // distinct subjects, in order of first use
	bySubj   map[string]int // index into subjects, while the epoch is open
	msgs     []stagedMsg
	idPrefix []byte // "<writer>:<subtask>:<checkpoint>:", once closed
}

// stagedMsg is a message of a transaction: its subject's index and its
// payload's place in enc.
type stagedMsg struct {
	subj       int
	start, end int
}

// newTxn starts an epoch's transaction with room for about the given
// bytes and messages.
func newTxn(writer string, subtask, bytes, msgs int) *txn {
	t := &txn{Writer: writer, Subtask: subtask, enc: make([]byte, 0, bytes+64), msgs: make([]stagedMsg, 0, msgs)}
	t.enc = append(t.enc, txnVersion)
	t.enc = appendString(t.enc, writer)
	t.enc = binary.AppendUvarint(t.enc, uint64(subtask))
	t.fixed = len(t.enc)
	t.enc = append(t.enc, make([]byte, 12)...) // checkpoint and count
	return t
}

// begin starts a message on subject; the caller appends its payload to
// t.enc and calls end with the mark, or drops it with abort.
func (t *txn) begin(subject string) (mark int) {
	i, ok := t.bySubj[subject]
	if !ok {
		if t.bySubj == nil {
			t.bySubj = map[string]int{}
		}
		i = len(t.subjects)
		t.subjects = append(t.subjects, subject)
		t.bySubj[subject] = i
	}
	mark = len(t.enc)
	t.enc = binary.AppendUvarint(t.enc, uint64(i))
	t.enc = append(t.enc, 0, 0, 0, 0)
	return mark
}

// end completes the message begun at mark.
func (t *txn) end(mark int) {
	subj, n := binary.Uvarint(t.enc[mark:])
	lenAt := mark + n
	start := lenAt + 4
	binary.BigEndian.PutUint32(t.enc[lenAt:], uint32(len(t.enc)-start))
	t.msgs = append(t.msgs, stagedMsg{subj: int(subj), start: start, end: len(t.enc)})
}

// abort drops the message begun at mark (its encoding failed).
func (t *txn) abort(mark int) { t.enc = t.enc[:mark] }

// add appends a message with the given payload.
func (t *txn) add(subject string, payload []byte) {
	mark := t.begin(subject)
	t.enc = append(t.enc, payload...)
	t.end(mark)
}

// close ends the epoch: the transaction belongs to checkpoint id, and its
// encoding is complete.
func (t *txn) close(id int64) {
	t.Checkpoint = id
	binary.BigEndian.PutUint64(t.enc[t.fixed:], uint64(id))
	binary.BigEndian.PutUint32(t.enc[t.fixed+8:], uint32(len(t.msgs)))
	t.enc = binary.AppendUvarint(t.enc, uint64(len(t.subjects)))
	for _, s := range t.subjects {
		t.enc = appendString(t.enc, s)
	}
	t.bySubj = nil
	t.setIDPrefix()
}

// setIDPrefix computes "<writer>.<subtask>.<checkpoint>.", numbers in
// base 36 and the end of the job as "_", which no base-36 number is (a
// letter would be: "e" is checkpoint 14). IDs are short, because the
// server's de-duplication costs more for longer ones (about a fifth of
// its throughput for 45 bytes against 9).
func (t *txn) setIDPrefix() {
	b := make([]byte, 0, len(t.Writer)+24)
	b = append(b, t.Writer...)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(t.Subtask), 36)
	b = append(b, '.')
	if t.Checkpoint == math.MaxInt64 { // operators.EndOfJob
		b = append(b, '_')
	} else {
		b = strconv.AppendInt(b, t.Checkpoint, 36)
	}
	t.idPrefix = append(b, '.')
}

func (t *txn) count() int { return len(t.msgs) }

// msg returns message i's subject and payload.
func (t *txn) msg(i int) (string, []byte) {
	m := t.msgs[i]
	return t.subjects[m.subj], t.enc[m.start:m.end:m.end]
}

// msgID is message i's Nats-Msg-Id: the writer (a random number drawn
// when the sink subtask opened: the run), the subtask, the checkpoint and
// the index, so that every message of every transaction of every run has
// its own, and a commit repeated after a restore has the same ones. The
// transaction must be closed.
func (t *txn) msgID(i int) string {
	return string(strconv.AppendInt(t.idPrefix, int64(i), 36))
}

// encoded returns the transaction as stored in a checkpoint; it must be
// closed.
func (t *txn) encoded() []byte { return t.enc }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errTxnFormat = errors.New("malformed transaction")

// decodeTxn reverses the encoding; malformed input gives an error saying
// where. The transaction keeps b.
func decodeTxn(b []byte) (*txn, error) {
	d := txnDecoder{b: b}
	if v := d.byte(); d.err == nil && v != txnVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", errTxnFormat, v, txnVersion)
	}
	t := &txn{Writer: d.string("writer"), Subtask: int(d.uvarint("subtask"))}
	t.Checkpoint = int64(binary.BigEndian.Uint64(d.fixed(8, "checkpoint")))
	n := int(binary.BigEndian.Uint32(d.fixed(4, "count")))
	if d.err == nil && n > len(b)-d.off {
		d.fail("count")
	}
	if d.err == nil {
		t.msgs = make([]stagedMsg, 0, n)
	}
	for range n {
		subj := int(d.uvarint("subject index"))
		size := int(binary.BigEndian.Uint32(d.fixed(4, "payload length")))
		start := d.off
		d.fixed(size, "payload")
		if d.err != nil {
			break
		}
		t.msgs = append(t.msgs, stagedMsg{subj: subj, start: start, end: d.off})
	}
	for range d.count("subjects") {
		t.subjects = append(t.subjects, d.string("subject"))
	}
	if d.err == nil && d.off != len(b) {
		d.err = fmt.Errorf("%w: %d bytes after the end", errTxnFormat, len(b)-d.off)
	}
	for i, m := range t.msgs {
		if d.err == nil && m.subj >= len(t.subjects) {
			d.err = fmt.Errorf("%w: message %d: subject %d of %d", errTxnFormat, i, m.subj, len(t.subjects))
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	t.enc = b
	t.setIDPrefix()
	return t, nil
}

// txnDecoder reads an encoded transaction; the first error sticks and
// makes every later read return zero values.
type txnDecoder struct {
	b   []byte
	off int
	err error
}

var zeros [8]byte

func (d *txnDecoder) byte() byte { return d.fixed(1, "version")[0] }

// fixed returns the next n bytes, or zeros (at least 8) after an error.
func (d *txnDecoder) fixed(n int, what string) []byte {
	if d.err == nil && (n < 0 || n > len(d.b)-d.off) {
		d.fail(what)
	}
	if d.err != nil {
		return zeros[:]
	}
	d.off += n
	return d.b[d.off-n : d.off]
}

func (d *txnDecoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.off += n
	return v
}

// count reads a length that must fit in what is left (each item takes at
// least one byte), so that a corrupt count cannot make a huge slice.
func (d *txnDecoder) count(what string) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)-d.off) {
		d.fail(what)
		return 0
	}
	return int(n)
}

func (d *txnDecoder) string(what string) string {
	n := d.count(what)
	if d.err != nil {
		return ""
	}
	return string(d.fixed(n, what))
}

func (d *txnDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", errTxnFormat, what, d.off)
	}
}

// newWriterID draws the ID of a sink subtask's run: 64 random bits in
// base 36. Runs of one job, and jobs that share a stream, never share
// message IDs (a collision within a duplicate window has a chance of
// about n²/2⁶⁵ for n runs).
func newWriterID() string { return strconv.FormatUint(rand.Uint64(), 36) }
