package cli

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/internal/netguard"
)

// TestMainInstallsTheNetworkGuard: every gen process runs behind the
// guard, whatever the command.
func TestMainInstallsTheNetworkGuard(t *testing.T) {
	if code := Main([]string{"version"}, strings.NewReader(""), io.Discard, io.Discard); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if _, ok := http.DefaultTransport.(*netguard.Guard); !ok {
		t.Fatalf("http.DefaultTransport is %T, not the guard", http.DefaultTransport)
	}
}

// TestCommandsThatRunNoProgram: gen check and gen diff, the commands a
// pull request bot runs, are marked as running no program, and a marked
// command runs with PATH empty, put back after.
func TestCommandsThatRunNoProgram(t *testing.T) {
	root := NewRootCmd(IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, ProcessEnv())
	for _, name := range []string{"check", "diff"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("no %s command: %v", name, err)
		}
		if cmd.Annotations[runsNoProgram] != "true" {
			t.Errorf("gen %s is not marked as running no program", name)
		}
	}

	t.Setenv("PATH", "/usr/bin:/bin")
	seen := map[string]string{}
	for _, marked := range []bool{true, false} {
		name := "plain"
		cmd := &cobra.Command{Use: name, RunE: func(*cobra.Command, []string) error { seen[name] = os.Getenv("PATH"); return nil }}
		if marked {
			name = "marked"
			cmd.Use = name
			cmd.Annotations = map[string]string{runsNoProgram: "true"}
		}
		root.AddCommand(cmd)
		if _, err := execute(root, []string{name}); err != nil {
			t.Fatal(err)
		}
	}
	if seen["marked"] != "" {
		t.Errorf("a marked command ran with PATH=%q", seen["marked"])
	}
	if seen["plain"] != "/usr/bin:/bin" {
		t.Errorf("an unmarked command ran with PATH=%q", seen["plain"])
	}
	if got := os.Getenv("PATH"); got != "/usr/bin:/bin" {
		t.Errorf("PATH = %q after the marked command", got)
	}
}
