package diff

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/check/checktest"
	"github.com/gen-gitops/gen/internal/netguard"
	"github.com/gen-gitops/gen/internal/testutil"
)

// TestHostilePullRequests runs what the bot runs on a pull request, gen
// check and gen diff against the example repository it was made from, on
// every hostile repository of the corpus: each ends within bounded time
// and memory without a panic, and no build that would fetch, execute or
// leave the repository runs.
//
// It is also the proof that nothing reaches the network: the corpus names
// loopback servers standing in for an attacker's (one answers, one never
// does) and a fake git is first on PATH. With gen's network guard
// installed, as in every gen process, both servers must accept no
// connection, git must never run, every fetch the guard refused must also
// be a remote-resource finding, and what the attacker would send never
// appears in any output.
func TestHostilePullRequests(t *testing.T) {
	guard := netguard.Install()
	attackers := checktest.StartAttackers(t)
	for _, c := range checktest.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			c.Attacker, c.Silent = attackers.Attacker, attackers.Silent
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
			gitRuns := checktest.FakeGit(t)
			reached := attackers.Reached()
			refusedBefore := len(guard.Refused())

			var res *Result
			var rep *check.Report
			var out bytes.Buffer
			// gen check, then gen diff, each with the bound its own
			// hostile test gives it.
			bounded(t, 60*time.Second, func() error {
				head, err := check.ReadDir(r.dir, c.Limits)
				if err != nil {
					return err
				}
				if rep, err = check.Run(head, check.Options{Limits: c.Limits}); err != nil {
					return err
				}
				for _, f := range check.Formats {
					if err := check.Write(&out, rep, f, check.WriteOptions{}); err != nil {
						return err
					}
				}
				return nil
			})
			bounded(t, 90*time.Second, func() error {
				base, err := repo.Read(commit, c.Limits)
				if err != nil {
					return err
				}
				head, err := check.ReadDir(r.dir, c.Limits)
				if err != nil {
					return err
				}
				if res, err = Compare(base, head, Options{Limits: c.Limits}); err != nil {
					return err
				}
				out.WriteString(Markdown(res, MarkdownOptions{}))
				if err := WriteText(&out, res); err != nil {
					return err
				}
				return WriteJSON(&out, res)
			})
			for _, k := range res.Kustomizations {
				for _, o := range k.Objects {
					if o.Origin != "" && (o.Kind == "" || o.Name == "") {
						t.Errorf("bad object %+v", o)
					}
				}
			}

			if n := attackers.Reached() - reached; n != 0 {
				t.Errorf("the attacker's servers were reached %d times (connections and requests)", n)
			}
			if runs := gitRuns(); len(runs) > 0 {
				t.Errorf("git ran: %q", runs)
			}
			var remote []string
			for _, f := range slices.Concat(rep.Findings, res.Findings) {
				if f.Rule == check.RuleRemote {
					remote = append(remote, f.Message)
				}
			}
			for _, u := range guard.Refused()[refusedBefore:] {
				if !slices.ContainsFunc(remote, func(m string) bool { return strings.Contains(m, u) }) {
					t.Errorf("the guard refused %s, and no remote-resource finding names it", u)
				}
			}
			if strings.Contains(out.String(), checktest.Canary) {
				t.Errorf("an output holds what the attacker's server sends")
			}
		})
	}
}

// bounded runs fn, failing the test when it panics, errs, takes longer
// than limit or grows the heap by more than 1 GiB.
func bounded(t *testing.T, limit time.Duration, fn func() error) {
	t.Helper()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v", p)
			}
		}()
		done <- fn()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(limit):
		t.Fatalf("still running after %s", limit)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<30 {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
}
