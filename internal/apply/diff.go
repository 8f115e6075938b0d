package apply

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/textdiff"
)

// Diff writes a unified diff of cs against the current files to out. Files
// that hold encrypted values show their keys and never a value, not even a
// ciphertext.
func Diff(out io.Writer, current map[string][]byte, cs *generator.Changeset) error {
	for _, f := range cs.Files {
		old, existed := current[f.Path]
		var a, b string
		if existed {
			a = string(old)
		}
		if !f.Delete {
			b = string(f.Content)
		}
		if f.Sensitive || IsEncrypted(old) || IsEncrypted(f.Content) {
			a, b = Redact(a), Redact(b)
		}
		from, to := "a/"+f.Path, "b/"+f.Path
		if !existed {
			from = "/dev/null"
		}
		if f.Delete {
			to = "/dev/null"
		}
		text, err := textdiff.Unified(a, b, from, to)
		if err != nil {
			return err
		}
		if text == "" {
			continue
		}
		if _, err := fmt.Fprint(out, text); err != nil {
			return err
		}
	}
	return nil
}

var encValue = regexp.MustCompile(`ENC\[[A-Z0-9_]+,[^\]]*\]`)

// IsEncrypted reports whether data looks like a SOPS-encrypted document.
func IsEncrypted(data []byte) bool {
	s := string(data)
	return strings.Contains(s, "\nsops:") && encValue.MatchString(s)
}

// Redact hides every encrypted payload and the SOPS metadata block of a
// document, leaving its keys readable. Plain values under a top-level data
// or stringData are hidden too, block scalars included.
func Redact(s string) string {
	s = encValue.ReplaceAllString(s, "ENC[…]")
	var out []string
	inSops, inData := false, false
	keyIndent := -1
	for _, line := range strings.SplitAfter(s, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		blank := strings.TrimSpace(line) == ""
		if strings.HasPrefix(line, "sops:") {
			inSops = true
			out = append(out, "sops: …\n")
			continue
		}
		if inSops {
			if indent > 0 || blank {
				continue
			}
			inSops = false
		}
		if inData && indent == 0 && !blank {
			inData = false
		}
		if inData && !blank {
			if keyIndent < 0 {
				keyIndent = indent
			}
			if indent > keyIndent {
				continue // a block scalar's or nested value's lines
			}
			if k, v, ok := strings.Cut(trimmed, ":"); ok && !strings.HasPrefix(strings.TrimSpace(v), "ENC[") {
				if strings.TrimSpace(v) != "" {
					line = strings.Repeat(" ", indent) + k + ": <redacted>\n"
				}
			}
		}
		if t := strings.TrimSpace(trimmed); (t == "data:" || t == "stringData:") && indent == 0 {
			inData, keyIndent = true, -1
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}
