package sops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"filippo.io/age"
	sopsage "github.com/getsops/sops/v3/age"
)

// ErrNoIdentity is returned (wrapped) by LoadIdentities when none of the
// places sops reads age keys from holds one.
var ErrNoIdentity = errors.New("no age key found")

// Identities holds age private keys and where they came from. Build it with
// LoadIdentities or ParseIdentities; the zero value holds no key.
type Identities struct {
	ids sopsage.ParsedIdentities
	// recipients are the public keys of ids, where age can derive them.
	recipients []string
	// Sources says where the keys came from, for messages: "$SOPS_AGE_KEY",
	// "<path> (from $SOPS_AGE_KEY_FILE)" or the keys.txt path.
	Sources []string
}

// Len reports how many keys the set holds.
func (i *Identities) Len() int {
	if i == nil {
		return 0
	}
	return len(i.ids)
}

// Recipients returns the age public keys matching the held private keys,
// for checking them against the recipients of a .sops.yaml rule.
func (i *Identities) Recipients() []string {
	if i == nil {
		return nil
	}
	return append([]string(nil), i.recipients...)
}

// ParseIdentities reads age private keys from text: one key per line, blank
// lines and lines starting with # ignored, the format of keys.txt. source
// says where the text came from and is recorded in Sources.
func ParseIdentities(text, source string) (*Identities, error) {
	ids := &Identities{}
	if err := ids.add(text, source, false); err != nil {
		return nil, err
	}
	if ids.Len() == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoIdentity, source)
	}
	return ids, nil
}

// add parses keys from text. With wordsPerLine, every whitespace-separated
// word is a key, which is how sops reads $SOPS_AGE_KEY.
func (i *Identities) add(text, source string, wordsPerLine bool) error {
	var keys []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if wordsPerLine {
			keys = append(keys, strings.Fields(line)...)
		} else {
			keys = append(keys, line)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	parsed, err := age.ParseIdentities(strings.NewReader(strings.Join(keys, "\n")))
	if err != nil {
		return fmt.Errorf("reading age keys from %s: %w", source, err)
	}
	for _, id := range parsed {
		switch id := id.(type) {
		case *age.X25519Identity:
			i.recipients = append(i.recipients, id.Recipient().String())
		case *age.HybridIdentity:
			i.recipients = append(i.recipients, id.Recipient().String())
		}
	}
	i.ids = append(i.ids, parsed...)
	i.Sources = append(i.Sources, source)
	return nil
}

// LoadIdentities finds age keys the way the sops CLI does and takes all it
// finds: the keys in $SOPS_AGE_KEY, the key file named by
// $SOPS_AGE_KEY_FILE, and keys.txt in sops' folder of the user config
// directory ($XDG_CONFIG_HOME/sops/age/keys.txt, else
// ~/.config/sops/age/keys.txt; on macOS without XDG_CONFIG_HOME,
// ~/Library/Application Support/sops/age/keys.txt; on Windows under
// %AppData%). getenv reads the environment (os.Getenv when nil), so tests
// need not change the process environment. SOPS_AGE_KEY_CMD and SSH keys,
// which the CLI also reads, are not supported.
//
// When no key is found the error wraps ErrNoIdentity and names the three
// places it looked.
func LoadIdentities(getenv func(string) string) (*Identities, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	ids := &Identities{}
	if v := getenv(sopsage.SopsAgeKeyEnv); strings.TrimSpace(v) != "" {
		if err := ids.add(v, "$"+sopsage.SopsAgeKeyEnv, true); err != nil {
			return nil, err
		}
	}
	if p := getenv(sopsage.SopsAgeKeyFileEnv); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading the age key file named by $%s: %w", sopsage.SopsAgeKeyFileEnv, err)
		}
		if err := ids.add(string(data), fmt.Sprintf("%s (from $%s)", p, sopsage.SopsAgeKeyFileEnv), false); err != nil {
			return nil, err
		}
	}
	userFile, known := userKeyFile(getenv)
	if known {
		data, err := os.ReadFile(userFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("reading age keys: %w", err)
		default:
			if err := ids.add(string(data), userFile, false); err != nil {
				return nil, err
			}
		}
	}
	if ids.Len() == 0 {
		return nil, fmt.Errorf("%w: looked in $%s, $%s and %s; set %s to your key file",
			ErrNoIdentity, sopsage.SopsAgeKeyEnv, sopsage.SopsAgeKeyFileEnv, userFile, sopsage.SopsAgeKeyFileEnv)
	}
	return ids, nil
}

// userKeyFile returns where sops looks for keys.txt in the user config
// directory, computed from getenv the way os.UserConfigDir does. known is
// false when the environment gives no home to put it in; the path returned
// then is a readable placeholder for messages.
func userKeyFile(getenv func(string) string) (path string, known bool) {
	rel := filepath.FromSlash(sopsage.SopsAgeKeyUserConfigPath)
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = getenv("AppData")
	case "darwin":
		// sops honours XDG_CONFIG_HOME on macOS, where os.UserConfigDir
		// does not.
		if x := getenv("XDG_CONFIG_HOME"); x != "" {
			dir = x
		} else if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, "Library", "Application Support")
		}
	default:
		if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
			dir = x
		} else if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, ".config")
		}
	}
	if dir == "" {
		return filepath.Join("~", ".config", rel), false
	}
	return filepath.Join(dir, rel), true
}
