package apply

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what /proc/<pid>/stat says about a process.
type procStat struct {
	state byte   // R, S, D, Z (zombie), X (dead), ...
	start uint64 // clock ticks after boot
}

// readProcStat reads /proc/<pid>/stat. ok is false when the system has no
// such file for the process; procfs reports whether /proc is there at all.
func readProcStat(pid int) (st procStat, ok bool, procfs bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		_, selfErr := os.Stat("/proc/self/stat")
		return procStat{}, false, selfErr == nil
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: the fields that follow start after the
	// last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false, true
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, false, true
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, false, true
	}
	return procStat{state: fields[0][0], start: start}, true, true
}

// startTime returns a process's start time in clock ticks after boot, when
// the system says (Linux).
func startTime(pid int) (uint64, bool) {
	st, ok, _ := readProcStat(pid)
	return st.start, ok
}

// alive reports whether the lock's owner is still running. A zombie (it
// has exited and waits for its parent to notice) is gone, and so is a
// process that got the owner's pid later: its start time differs.
func alive(o Owner) bool {
	if o.PID <= 0 {
		return false
	}
	st, ok, procfs := readProcStat(o.PID)
	if procfs {
		if !ok || st.state == 'Z' || st.state == 'X' {
			return false
		}
		return o.Start == 0 || o.Start == st.start
	}
	if o.PID == os.Getpid() {
		return true
	}
	p, err := os.FindProcess(o.PID)
	if err != nil {
		return false
	}
	// A process of another user answers "not permitted": it exists.
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
