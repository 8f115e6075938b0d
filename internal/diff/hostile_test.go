package diff

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/check/checktest"
	"github.com/gen-gitops/gen/internal/testutil"
)

// TestHostilePullRequests diffs every hostile repository of the corpus
// against the example repository it was made from, as the bot does on a
// pull request: each ends within bounded time and memory without a panic,
// and no build that would fetch, execute or leave the repository runs.
func TestHostilePullRequests(t *testing.T) {
	for _, c := range checktest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			r := newGitRepo(t, testutil.ExampleRepo(t))
			c.Build(t, r.dir)
			repo, err := Open(r.dir)
			if err != nil {
				t.Fatal(err)
			}
			commit, err := repo.Resolve("HEAD")
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			done := make(chan error, 1)
			var res *Result
			go func() {
				defer func() {
					if p := recover(); p != nil {
						done <- fmt.Errorf("panic: %v", p)
					}
				}()
				base, err := repo.Read(commit, c.Limits)
				if err != nil {
					done <- err
					return
				}
				head, err := check.ReadDir(r.dir, c.Limits)
				if err != nil {
					done <- err
					return
				}
				res, err = Compare(base, head, Options{Limits: c.Limits})
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(90 * time.Second):
				t.Fatal("still running after 90s")
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<30 {
				t.Errorf("heap grew by %d MiB", grew>>20)
			}
			for _, k := range res.Kustomizations {
				for _, o := range k.Objects {
					if o.Origin != "" && (o.Kind == "" || o.Name == "") {
						t.Errorf("bad object %+v", o)
					}
				}
			}
		})
	}
}
