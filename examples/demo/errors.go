package demo

import "errors"

// ErrUnavailable is the catalog's passing failure, which the enrichment
// retries.
var ErrUnavailable = errors.New("demo: catalog unavailable, try again")
