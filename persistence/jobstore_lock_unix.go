//go:build unix

package persistence

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// tryLock takes the exclusive flock(2) of file without waiting: ok is
// false when another open file (of this process or another) holds it.
// flock locks belong to an open file, so two instances in one process
// exclude each other as two processes do.
func tryLock(file string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("flock %s: %w", file, err)
	}
	return func() { f.Close() }, true, nil // closing the file releases the lock
}

// checkLockable checks that file can be locked here at all, so that a
// store on a file system without flock fails when it opens, not at its
// first write.
func checkLockable(file string) error {
	unlock, ok, err := tryLock(file)
	if ok {
		unlock()
	}
	return err
}
