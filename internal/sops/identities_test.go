package sops

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadIdentities(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the config-dir cases below use the Linux layout")
	}
	k1, k2, k3, k4 := newKey(t), newKey(t), newKey(t), newKey(t)
	dir := t.TempDir()
	keyFile := writeFile(t, filepath.Join(dir, "key.txt"), "# created: today\n# public key: x\n"+k2.String()+"\n")
	home := filepath.Join(dir, "home")
	homeKeys := writeFile(t, filepath.Join(home, ".config", "sops", "age", "keys.txt"), k3.String()+"\n")
	xdg := filepath.Join(dir, "xdg")
	xdgKeys := writeFile(t, filepath.Join(xdg, "sops", "age", "keys.txt"), "\n"+k4.String()+"\n\n")

	tests := []struct {
		name           string
		env            map[string]string
		wantRecipients []string
		wantSources    []string
	}{
		{
			name:           "SOPS_AGE_KEY holds several keys on one line",
			env:            map[string]string{"SOPS_AGE_KEY": k1.String() + " " + k2.String(), "HOME": filepath.Join(dir, "nohome")},
			wantRecipients: []string{k1.Recipient().String(), k2.Recipient().String()},
			wantSources:    []string{"$SOPS_AGE_KEY"},
		},
		{
			name:           "SOPS_AGE_KEY_FILE",
			env:            map[string]string{"SOPS_AGE_KEY_FILE": keyFile, "HOME": filepath.Join(dir, "nohome")},
			wantRecipients: []string{k2.Recipient().String()},
			wantSources:    []string{keyFile + " (from $SOPS_AGE_KEY_FILE)"},
		},
		{
			name:           "keys.txt under HOME",
			env:            map[string]string{"HOME": home},
			wantRecipients: []string{k3.Recipient().String()},
			wantSources:    []string{homeKeys},
		},
		{
			name:           "XDG_CONFIG_HOME wins over HOME",
			env:            map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg},
			wantRecipients: []string{k4.Recipient().String()},
			wantSources:    []string{xdgKeys},
		},
		{
			name:           "every place found is used, in sops' order",
			env:            map[string]string{"SOPS_AGE_KEY": k1.String(), "SOPS_AGE_KEY_FILE": keyFile, "HOME": home},
			wantRecipients: []string{k1.Recipient().String(), k2.Recipient().String(), k3.Recipient().String()},
			wantSources:    []string{"$SOPS_AGE_KEY", keyFile + " (from $SOPS_AGE_KEY_FILE)", homeKeys},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := LoadIdentities(envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := ids.Recipients(); !reflect.DeepEqual(got, tt.wantRecipients) {
				t.Errorf("recipients = %v, want %v", got, tt.wantRecipients)
			}
			if !reflect.DeepEqual(ids.Sources, tt.wantSources) {
				t.Errorf("sources = %q, want %q", ids.Sources, tt.wantSources)
			}
		})
	}
}

func TestLoadIdentitiesNoneFound(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("expects the Linux config-dir layout")
	}
	home := t.TempDir()
	// An empty key file counts as no key.
	writeFile(t, filepath.Join(home, ".config", "sops", "age", "keys.txt"), "# nothing here\n")
	_, err := LoadIdentities(envOf(map[string]string{"HOME": home}))
	if !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("error = %v, want ErrNoIdentity", err)
	}
	want := "no age key found: looked in $SOPS_AGE_KEY, $SOPS_AGE_KEY_FILE and " +
		filepath.Join(home, ".config", "sops", "age", "keys.txt") + "; set SOPS_AGE_KEY_FILE to your key file"
	if err.Error() != want {
		t.Errorf("error =\n %s\nwant\n %s", err, want)
	}
}

func TestLoadIdentitiesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, filepath.Join(dir, "bad.txt"), "AGE-SECRET-KEY-1NOTAKEY\n")
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"key file missing", map[string]string{"SOPS_AGE_KEY_FILE": filepath.Join(dir, "missing.txt")}, "reading the age key file named by $SOPS_AGE_KEY_FILE"},
		{"key file garbage", map[string]string{"SOPS_AGE_KEY_FILE": bad}, "reading age keys from " + bad},
		{"env garbage", map[string]string{"SOPS_AGE_KEY": "hello"}, "reading age keys from $SOPS_AGE_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadIdentities(envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "NOTAKEY") {
				t.Errorf("error leaks key material: %v", err)
			}
		})
	}
}
