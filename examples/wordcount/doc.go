// Package wordcount is troupe's demo pipeline: a running word count over a
// text file, registered in the node command as "wordcount".
//
// # What it computes
//
// A word is a maximal run of Unicode letters and digits, lowercased (see
// [Words]); everything else, apostrophes included, separates words. For
// every occurrence of a word the pipeline emits the word's running count as
// one JSON line, {"word":"go","count":3}. Each word's counts 1..N therefore
// appear exactly once, in increasing order, and the largest, N, is its total
// in the file. Counts of different words may interleave in any order.
//
// # Shape
//
//	lines (ReadLines) -> split (FlatMap) -> count (KeyBy word, ProcessKeyed) -> sink
//
// The file is split by byte ranges over the source subtasks; words are
// hashed by key group to the count subtasks, where the count is keyed
// state. The sink writes JSON lines to standard output or, when an output
// directory is given, part files into it with operators.WriteFiles. With
// checkpoints on (node run --checkpoint-interval), that sink is
// exactly-once: each epoch's file is committed when its checkpoint
// completes, and a run resumed after a crash neither loses nor repeats a
// running count. Standard output is not transactional: a resumed run may
// print again what the crashed one printed after its last checkpoint. Every
// operator takes the pipeline's default parallelism, so the node command's
// --parallelism applies to all of them.
//
// # JetStream
//
// input and output may also be JetStream streams, as nats:// URLs (see
// jetstream.ParseURL): input=nats://HOST:PORT/LINES[?bounded=true] reads
// one line per message (text), output=nats://HOST:PORT/COUNTS publishes
// each Count as a JSON message, exactly once with checkpoints (the
// stream's duplicate window must outlast a restart; see
// docs/connectors.md).
package wordcount
