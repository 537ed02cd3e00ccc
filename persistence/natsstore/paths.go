package natsstore

import (
	"fmt"
	"strconv"
	"strings"
)

// The names of a checkpoint in the buckets. A checkpoint's path is
//
//	nats://<bucket>/<job>/<run>/chk-<id>
//
// with <bucket> the checkpoint bucket (Config.Prefix + "-checkpoints"),
// <job> the job's name (any characters, '/' included), <run> its run's
// id (no '/'). Its metadata is the value of the key-value entry
// <key(job)>.<key(run)>.<id> of that bucket, and the state a subtask
// wrote is the object <key(job)>/<key(run)>/chk-<id>/<handle> of the
// object store of the same name, key() being keyToken.

// pathScheme opens every checkpoint path of this store.
const pathScheme = "nats://"

// chkPrefix opens the last element of a checkpoint's path.
const chkPrefix = "chk-"

// checkpointRef names one checkpoint of one run.
type checkpointRef struct {
	bucket, job, run string
	id               int64
}

// path returns the checkpoint's path.
func (r checkpointRef) path() string {
	return fmt.Sprintf("%s%s/%s/%s/%s%d", pathScheme, r.bucket, r.job, r.run, chkPrefix, r.id)
}

// metaKey returns the key of the checkpoint's metadata.
func (r checkpointRef) metaKey() string {
	return runKeyPrefix(r.job, r.run) + strconv.FormatInt(r.id, 10)
}

// objectPrefix returns the names' prefix of the checkpoint's objects.
func (r checkpointRef) objectPrefix() string {
	return fmt.Sprintf("%s%s%d/", runObjectPrefix(r.job, r.run), chkPrefix, r.id)
}

// runKeyPrefix returns the prefix of the metadata keys of a run's
// checkpoints, ending in '.'.
func runKeyPrefix(job, run string) string { return keyToken(job) + "." + keyToken(run) + "." }

// runObjectPrefix returns the names' prefix of a run's objects: job and
// run encoded as keys are, so that no run's prefix is another's (a job's
// name may hold '/').
func runObjectPrefix(job, run string) string { return keyToken(job) + "/" + keyToken(run) + "/" }

// parsePath splits a checkpoint path; ok is false for anything that is
// not one (the checks are those path() guarantees: a bucket name, a
// non-empty job, a run without '/', a positive decimal id).
func parsePath(path string) (ref checkpointRef, ok bool) {
	rest, ok := strings.CutPrefix(path, pathScheme)
	if !ok {
		return ref, false
	}
	bucket, rest, ok := strings.Cut(rest, "/")
	if !ok || checkBucket(bucket) != nil {
		return ref, false
	}
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		return ref, false
	}
	chk := rest[i+1:]
	rest = rest[:i]
	j := strings.LastIndex(rest, "/")
	if j <= 0 || j == len(rest)-1 {
		return ref, false // no job, or no run
	}
	id, ok := parseChk(chk)
	if !ok {
		return ref, false
	}
	return checkpointRef{bucket: bucket, job: rest[:j], run: rest[j+1:], id: id}, true
}

// parseChk parses "chk-<id>", id a positive decimal without sign or
// leading zeros (as path() writes it).
func parseChk(s string) (int64, bool) {
	digits, ok := strings.CutPrefix(s, chkPrefix)
	if !ok || digits == "" || digits[0] < '1' || digits[0] > '9' {
		return 0, false
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	return id, err == nil && id > 0
}

// keyToken encodes s as one token of a key-value key, which allows only
// letters, digits, '-', '_', '=', '/' and '.' (the token separator):
// letters, digits, '-' and '_' stay, every other byte becomes '=' and
// two upper-case hex digits. The empty string becomes "=" alone, which
// no encoding of a non-empty string is. It is reversible (the tests
// decode it), so two runs' keys never coincide.
func keyToken(s string) string {
	if s == "" {
		return "="
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keyByte(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}

func keyByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// objectName returns the object name of a state handle in a checkpoint.
func (r checkpointRef) objectName(handle string) string { return r.objectPrefix() + handle }

// handleFor returns the handle of a subtask's state, usable as the last
// element of an object name: the task's name with '/', '\\', ':' and NUL
// replaced, and ".state" (DirStore's file names).
func handleFor(task string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, task) + ".state"
}

// validHandle reports whether a handle from metadata can name an object
// of its checkpoint: one element, no '/'.
func validHandle(h string) bool { return h != "" && !strings.Contains(h, "/") }
