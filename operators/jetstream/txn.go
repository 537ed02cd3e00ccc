package jetstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// txnVersion is the first byte of an encoded transaction.
const txnVersion = 1

// txn is one epoch's output of one sink subtask: its messages, encoded,
// in order, and what names them. It is immutable once pre-committed.
type txn struct {
	Writer     string // "troupe:<job>:<unique per subtask run>"
	Subtask    int
	Checkpoint int64 // the checkpoint that ended the epoch

	subjects []string       // distinct subjects, in order of first use
	bySubj   map[string]int // index into subjects, while the epoch is open
	msgs     []stagedMsg
	data     []byte // the payloads, back to back
	enc      []byte // the encoding, made once
}

// stagedMsg is a message of a transaction: its subject's index and its
// payload's end in data (it starts where the previous one ends).
type stagedMsg struct {
	subj int
	end  int
}

func (t *txn) add(subject string, payload []byte) {
	i, ok := t.bySubj[subject]
	if !ok {
		if t.bySubj == nil {
			t.bySubj = map[string]int{}
		}
		i = len(t.subjects)
		t.subjects = append(t.subjects, subject)
		t.bySubj[subject] = i
	}
	t.data = append(t.data, payload...)
	t.msgs = append(t.msgs, stagedMsg{subj: i, end: len(t.data)})
}

func (t *txn) count() int { return len(t.msgs) }

// msg returns message i's subject and payload.
func (t *txn) msg(i int) (string, []byte) {
	start := 0
	if i > 0 {
		start = t.msgs[i-1].end
	}
	m := t.msgs[i]
	return t.subjects[m.subj], t.data[start:m.end:m.end]
}

// msgID is message i's Nats-Msg-Id: the writer, the subtask, the
// checkpoint and the index, so that every message of every transaction
// of every run has its own, and a commit repeated after a restore has the
// same ones.
func (t *txn) msgID(i int) string {
	b := make([]byte, 0, len(t.Writer)+32)
	b = append(b, t.Writer...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(t.Subtask), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, t.Checkpoint, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(i), 10)
	return string(b)
}

// encoded returns the transaction as stored in a checkpoint: the version
// byte, the writer, subtask and checkpoint, the subjects, then each
// message's subject index and payload, all lengths as uvarints.
func (t *txn) encoded() []byte {
	if t.enc != nil {
		return t.enc
	}
	b := make([]byte, 0, len(t.data)+len(t.msgs)*3+64)
	b = append(b, txnVersion)
	b = appendString(b, t.Writer)
	b = binary.AppendUvarint(b, uint64(t.Subtask))
	b = binary.AppendVarint(b, t.Checkpoint)
	b = binary.AppendUvarint(b, uint64(len(t.subjects)))
	for _, s := range t.subjects {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(t.msgs)))
	start := 0
	for _, m := range t.msgs {
		b = binary.AppendUvarint(b, uint64(m.subj))
		b = appendString(b, string(t.data[start:m.end]))
		start = m.end
	}
	t.enc = b
	t.bySubj = nil // closed: no more messages
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errTxnFormat = errors.New("malformed transaction")

// decodeTxn reverses encoded; malformed input gives an error saying
// where.
func decodeTxn(b []byte) (*txn, error) {
	d := txnDecoder{b: b}
	if v := d.byte(); v != txnVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", errTxnFormat, v, txnVersion)
	}
	t := &txn{Writer: d.string("writer"), Subtask: int(d.uvarint("subtask")), Checkpoint: d.varint("checkpoint")}
	n := d.count("subjects")
	for range n {
		t.subjects = append(t.subjects, d.string("subject"))
	}
	m := d.count("messages")
	t.msgs = make([]stagedMsg, 0, m)
	for i := range m {
		subj := int(d.uvarint("subject index"))
		if d.err == nil && subj >= len(t.subjects) {
			d.err = fmt.Errorf("%w: message %d: subject %d of %d", errTxnFormat, i, subj, len(t.subjects))
		}
		t.data = append(t.data, d.bytes("payload")...)
		t.msgs = append(t.msgs, stagedMsg{subj: subj, end: len(t.data)})
	}
	if d.err == nil && d.off != len(b) {
		d.err = fmt.Errorf("%w: %d bytes after the end", errTxnFormat, len(b)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	t.enc = b
	return t, nil
}

// txnDecoder reads an encoded transaction; the first error sticks and
// makes every later read return zero values.
type txnDecoder struct {
	b   []byte
	off int
	err error
}

func (d *txnDecoder) byte() byte {
	if d.err != nil || d.off >= len(d.b) {
		d.fail("version")
		return 0
	}
	d.off++
	return d.b[d.off-1]
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

func (d *txnDecoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
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

func (d *txnDecoder) bytes(what string) []byte {
	n := d.count(what)
	if d.err != nil {
		return nil
	}
	d.off += n
	return d.b[d.off-n : d.off]
}

func (d *txnDecoder) string(what string) string { return string(d.bytes(what)) }

func (d *txnDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", errTxnFormat, what, d.off)
	}
}
