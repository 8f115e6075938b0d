//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package apply

import (
	"os"
	"syscall"
)

// lockFolder takes an exclusive advisory lock on the folder itself (no
// file is created): the kernel releases it when the process dies, so it
// cannot go stale. It guards the short step of recovering a dead run's
// lock.
func lockFolder(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
