package render

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// limitAddressSpace caps the worker's virtual memory at what it maps now
// plus twice the budget (the Go runtime maps more than it uses), so that
// an allocation far beyond the budget fails in the kernel rather than
// being granted and then filled.
func limitAddressSpace(budget int64) {
	if raceEnabled {
		return
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	var vmKB int64
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			vmKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	if vmKB <= 0 {
		return
	}
	limit := uint64(vmKB*1024 + 2*budget)
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit})
}
