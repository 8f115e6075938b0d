package check_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/check/checktest"
	"github.com/gen-gitops/gen/internal/testutil"
)

// Bounds every hostile case must stay within, on top of what the test
// process already uses.
const (
	hostileTime   = 60 * time.Second
	hostileMemory = 1 << 30
)

// TestHostileRepositories runs gen check on every repository of the
// hostile corpus: each ends in its finding, in bounded time and memory,
// without a panic.
func TestHostileRepositories(t *testing.T) {
	for _, c := range checktest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
			c.Build(t, dir)
			var rep *check.Report
			peak := Bounded(t, func() error {
				snap, err := check.ReadDir(dir, c.Limits)
				if err != nil {
					return err
				}
				rep, err = check.Run(snap, check.Options{Limits: c.Limits})
				return err
			})
			t.Logf("peak heap growth %d MiB", peak>>20)
			got := map[string]bool{}
			for _, f := range rep.Findings {
				got[f.Rule] = true
				if c.WantNone && f.Severity == check.SeverityError {
					t.Errorf("unexpected %s", f)
				}
			}
			for _, want := range c.Want {
				if !got[want] {
					t.Errorf("no %s finding; got:\n%s", want, list(rep.Findings))
				}
			}
		})
	}
}

func list(fs []check.Finding) string {
	s := ""
	for _, f := range fs {
		s += "  " + f.String() + "\n"
	}
	return s
}

// Bounded runs fn, failing the test when it panics, errs, takes longer
// than hostileTime or grows the heap by more than hostileMemory. It
// returns the largest heap growth seen.
func Bounded(t *testing.T, fn func() error) uint64 {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
					peak.Store(m.HeapAlloc - base)
				}
			}
		}
	}()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		close(stop)
		<-sampled
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hostileTime):
		close(stop)
		t.Fatalf("still running after %s", hostileTime)
	}
	if p := peak.Load(); p > hostileMemory {
		t.Errorf("heap grew by %d MiB, over %d MiB", p>>20, hostileMemory>>20)
	}
	return peak.Load()
}
