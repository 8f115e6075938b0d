package check

import (
	"regexp"
	"strings"
)

// ignorePattern matches "# gen:ignore rule-a, rule-b" (after other comment
// text too) and
// "# gen:ignore-file rule".
var ignorePattern = regexp.MustCompile(`#[^\n]*?gen:ignore(-file)?((?:[\s,]+[a-z0-9-]+)+)`)

// ignores holds a file's # gen:ignore comments.
type ignores struct {
	// byLine maps a line to the rules ignored there.
	byLine map[int]map[string]bool
	// file holds the rules ignored in the whole file.
	file map[string]bool
	// comment marks lines holding only a comment.
	comment map[int]bool
}

func parseIgnores(data []byte) *ignores {
	ig := &ignores{byLine: map[int]map[string]bool{}, file: map[string]bool{}, comment: map[int]bool{}}
	if !strings.Contains(string(data), "gen:ignore") {
		return ig
	}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			ig.comment[n] = true
		}
		m := ignorePattern.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rules := strings.FieldsFunc(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		for _, r := range rules {
			if m[1] != "" {
				ig.file[r] = true
				continue
			}
			if ig.byLine[n] == nil {
				ig.byLine[n] = map[string]bool{}
			}
			ig.byLine[n][r] = true
		}
	}
	return ig
}

// covers reports whether the finding's rule is ignored at its line: by a
// comment on that line, on the comment lines right above it, or for the
// whole file. A finding without a line is covered only file-wide.
func (ig *ignores) covers(rule string, line int) bool {
	if ig.file[rule] || ig.file["all"] {
		return true
	}
	if line <= 0 {
		return false
	}
	hit := func(n int) bool { return ig.byLine[n][rule] || ig.byLine[n]["all"] }
	if hit(line) {
		return true
	}
	for n := line - 1; n > 0 && ig.comment[n]; n-- {
		if hit(n) {
			return true
		}
	}
	return false
}
