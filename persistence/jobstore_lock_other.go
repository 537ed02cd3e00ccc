//go:build !unix

package persistence

import "fmt"

// tryLock: this platform has no flock(2), the cross-process lock that
// DirJobStore's compare-and-set rests on.
func tryLock(file string) (unlock func(), ok bool, err error) {
	return nil, false, fmt.Errorf("%w: locking %s: the file job store needs flock(2), which this platform lacks; use a nats:// store", ErrStorage, file)
}

// checkLockable fails at once on this platform (see tryLock).
func checkLockable(file string) error {
	_, _, err := tryLock(file)
	return err
}
