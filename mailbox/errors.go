package mailbox

import "errors"

// ErrCreditViolation is returned by InputGate.Push when a sender sent more
// batches than it had credits for: a bug in the sender, never expected.
var ErrCreditViolation = errors.New("mailbox: batch received without credit")
