//go:build !linux

package render

// limitAddressSpace has no portable equivalent outside Linux; the heap
// watchdog and the time budget still hold.
func limitAddressSpace(int64) {}
