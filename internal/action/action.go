// Package action holds what gen's commands do once their flags are read,
// the way helm's pkg/action does: an action is a value whose fields are
// the options, and Run does the work and returns a result the command
// prints. Nothing here knows cobra, and nothing here prints.
//
// Write is the tail every writing command shares (validate, diff, check
// git, write, write the pull request body, commit, push); Init is gen
// init. Both take a Configuration: what they need from the process.
package action

import (
	"fmt"

	"github.com/gen-gitops/gen/internal/apply"
)

// Configuration is what an action takes from the process: the
// environment, and a hook for tests that stop a write half way.
type Configuration struct {
	// Getenv reads the environment (tokens for a push, HOME and
	// XDG_CONFIG_HOME for init's key).
	Getenv func(string) string
	// AfterWriteStep, when set, is called after each filesystem step of a
	// write (apply.Writer.AfterStep): tests stop gen there to show that a
	// run killed at any point leaves a tree the next run recovers. The gen
	// binary never sets it.
	AfterWriteStep func(step int)
}

// Writer returns the journaled writer for root; command names the run in
// the lock.
func (c *Configuration) Writer(root, command string) *apply.Writer {
	w := apply.NewWriter(root)
	w.Command = command
	w.AfterStep = c.AfterWriteStep
	return w
}

// UsageError is an error in what an action (or a command) was asked to
// do, as opposed to a failure doing it: gen exits with code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usageErrorf builds a UsageError.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
