// Package enrich is troupe's async I/O demo pipeline: each record of a
// JSON lines file is merged with the reply of an HTTP service, with many
// requests in flight at once. It is registered in the node command as
// "enrich".
//
// # What it computes
//
// Each input line is a JSON object with an integer "id" ([Record]). For
// each, the pipeline sends GET {url}?id={id} and, on a 200 reply whose body
// is a JSON object, emits the record with the reply's members added. A
// member of the reply replaces the input's member of the same name — the
// service is what the job asks for fresh values — except "id", which
// stays the input's. Output lines have "id" first, then the other members
// in key order.
//
// A 5xx reply, a 429 Too Many Requests or a transport error is retried by
// the retry strategy (by default 3 attempts with exponential backoff; a
// Retry-After header is not read, the backoff sets the delay); any other
// status, and a 200 whose body is not a JSON object, is not ([Retryable]). A record
// whose last attempt failed, or whose timeout (all attempts included)
// passed, fails the job with an error naming its id ([FailOnError], the
// default), or is emitted with an "error" member saying why
// ([EmitErrors]). A line that is not such an object fails the job with an
// error naming the file and line, as operators.ReadJSONLines does for any
// line that does not decode.
//
// # Shape
//
//	input (ReadJSONLines) -> enrich (AsyncMap) -> output (part files or JSON lines)
//
// The file is split by byte ranges over the source subtasks, and each
// feeds the enrich subtask chained to it, which keeps up to Capacity
// requests in flight through one HTTP client shared by the job's
// subtasks ([NewClient]). In ordered mode each subtask emits its split in
// file order, so with parallelism 1 the output is in file order; keyed
// mode keeps order per id; unordered mode emits records as replies come.
// With an output directory, each subtask writes its own part files
// (operators.WriteFiles), read back in order with operators.CommittedParts.
//
// # Caveats
//
//   - A record carries its other members as raw JSON, so they pass through
//     unchanged, but their order and any duplicate keys are not kept.
//   - The output is a directory of part files, as operators.WriteFiles
//     writes them: a visible part file is always complete, and with
//     checkpoints every record is committed exactly once, at any
//     parallelism and across crashes and resumes. The directory is
//     checked when the pipeline is built: a file there, or a path that
//     cannot be written, is an error before the job starts. Give each job
//     a directory of its own: a second run adds its own part files.
//   - A reply's member named "error" is kept as any other, so with
//     EmitErrors an "error" member alone does not prove a failure if the
//     service may return one.
package enrich
