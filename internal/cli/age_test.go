package cli

import (
	"testing"
	"time"
)

// TestSinceCreated: scratch ls's AGE column reads as kubectl's does.
func TestSinceCreated(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ago  time.Duration
		want string
	}{
		{45 * time.Second, "45s"},
		{7*time.Minute + 30*time.Second, "7m30s"},
		{42 * time.Minute, "42m"},
		{5 * time.Hour, "5h"},
		{30 * time.Hour, "30h"},
		{3*24*time.Hour + 4*time.Hour, "3d4h"},
		{40 * 24 * time.Hour, "40d"},
	} {
		if got := sinceCreated(now.Add(-c.ago), now); got != c.want {
			t.Errorf("%v ago: %q, want %q", c.ago, got, c.want)
		}
	}
	if got := sinceCreated(time.Time{}, now); got != "-" {
		t.Errorf("unknown creation: %q", got)
	}
}
