package cli

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/domains"
	"github.com/gen-gitops/gen/generator/promote"
	"github.com/gen-gitops/gen/generator/scratch"
	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/gitops"
)

// The tests below run each command's constructor with a runF that keeps
// the options instead of running: what the flags and arguments become,
// and which of them are refused before anything is read.

var noEnv = Env{Getenv: func(string) string { return "" }}

// parseCmd runs cmd with argv the way gen's root runs it: flag errors are
// usage errors.
func parseCmd(cmd *cobra.Command, argv []string) error {
	cmd.SetArgs(argv)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	return cmd.Execute()
}

// wantErr checks err: nil when want is "", else a usage error (exit 2)
// whose text holds want.
func wantErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	if err == nil {
		t.Fatalf("no error; want one with %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q; want one with %q", err, want)
	}
	if code := exitCode(err); code != ExitUsage {
		t.Fatalf("error %q exits %d; want %d", err, code, ExitUsage)
	}
	return true
}

func TestAddAppOptions(t *testing.T) {
	three, zero := 3, 0
	base := apps.AddOptions{Namespace: "default", Name: "web", Image: "nginx:1.27", Gateway: "external",
		Expose: generator.ExposeGateway, Mode: apps.ModeAppTemplate}
	cases := []struct {
		name  string
		argv  []string
		stdin string
		want  func(o *apps.AddOptions)
		write func(w *writeFlags)
		err   string
	}{
		{name: "defaults", argv: []string{"default/web", "--image", "nginx:1.27"}},
		{name: "replicas unset is nil", argv: []string{"default/web", "--image", "nginx:1.27"},
			want: func(o *apps.AddOptions) { o.Replicas = nil }},
		{name: "replicas 0 is a count", argv: []string{"default/web", "--image", "nginx:1.27", "--replicas", "0"},
			want: func(o *apps.AddOptions) { o.Replicas = &zero }},
		{name: "replicas 3", argv: []string{"default/web", "--image", "nginx:1.27", "--replicas", "3"},
			want: func(o *apps.AddOptions) { o.Replicas = &three }},
		{name: "replicas not a number", argv: []string{"default/web", "--replicas", "many"}, err: `invalid argument "many" for "--replicas" flag`},
		{name: "port", argv: []string{"default/web", "--image", "nginx:1.27", "--port", "8080"},
			want: func(o *apps.AddOptions) { o.Port = 8080 }},
		{name: "port 0 given", argv: []string{"default/web", "--image", "nginx:1.27", "--port", "0"}, err: "--port 0: want a port from 1 to 65535"},
		{name: "raw", argv: []string{"default/web", "--image", "nginx:1.27", "--raw"},
			want: func(o *apps.AddOptions) { o.Mode = apps.ModeRaw }},
		{name: "chart", argv: []string{"default/web", "--chart", "oci://ghcr.io/x/web", "--chart-version", "1.0.0"},
			want: func(o *apps.AddOptions) {
				o.Image, o.Mode, o.Chart, o.ChartVersion = "", apps.ModeChart, "oci://ghcr.io/x/web", "1.0.0"
			}},
		{name: "raw and chart", argv: []string{"default/web", "--raw", "--chart", "oci://x/y"}, err: "--raw and --chart do not go together"},
		{name: "values without chart", argv: []string{"default/web", "--image", "x", "--values", "v.yaml"}, err: "--values goes with --chart"},
		{name: "expose tunnel", argv: []string{"default/web", "--image", "nginx:1.27", "--expose", "tunnel", "--host", "web"},
			want: func(o *apps.AddOptions) { o.Expose, o.Hosts = generator.ExposeTunnel, []string{"web"} }},
		{name: "expose bad", argv: []string{"default/web", "--expose", "ingress"}, err: `invalid argument "ingress" for "--expose" flag: want gateway, tunnel or access`},
		{name: "gateway internal", argv: []string{"default/web", "--image", "nginx:1.27", "--gateway", "internal"},
			want: func(o *apps.AddOptions) { o.Gateway = "internal" }},
		{name: "gateway bad", argv: []string{"default/web", "--gateway", "public"}, err: "want external or internal"},
		{name: "access", argv: []string{"default/web", "--image", "nginx:1.27", "--expose", "access", "--allow-email", "me@example.org", "--chute-config", "c"},
			want: func(o *apps.AddOptions) {
				o.Expose = generator.ExposeAccess
				o.Access = access.Options{Emails: []string{"me@example.org"}, Config: "c"}
			}},
		{name: "env and depends-on", argv: []string{"default/web", "--image", "nginx:1.27", "--env", "A=1", "--depends-on", "network/cloudflare-dns"},
			want: func(o *apps.AddOptions) {
				o.Env = []generator.KV{{Key: "A", Value: "1"}}
				o.DependsOn = []generator.Ref{{Namespace: "network", Name: "cloudflare-dns"}}
			}},
		{name: "secret from stdin", argv: []string{"default/web", "--image", "nginx:1.27", "--secret", "TOKEN=-"}, stdin: "s3cret\n",
			want: func(o *apps.AddOptions) { o.Secrets = []generator.KV{{Key: "TOKEN", Value: "s3cret"}} }},
		{name: "secret malformed", argv: []string{"default/web", "--secret", "TOKEN"}, err: "TOKEN=…"},
		{name: "image automation off", argv: []string{"default/web", "--image", "nginx:1.27", "--image-automation=false"},
			want: func(o *apps.AddOptions) { o.SkipImageAutomation = true }},
		{name: "extract without policy", argv: []string{"default/web", "--image", "x", "--image-policy-extract", "$ts"}, err: "--image-policy-extract needs --image-policy"},
		{name: "not ns/app", argv: []string{"web"}, err: `"web": want <namespace>/<app>`},
		{name: "no argument", argv: []string{}, err: "accepts 1 arg(s)"},
		{name: "unknown flag", argv: []string{"default/web", "--bogus"}, err: "unknown flag: --bogus"},
		{name: "commit on a branch", argv: []string{"default/web", "--image", "nginx:1.27", "--commit", "--branch", "add-web", "--output", "json"},
			write: func(w *writeFlags) { w.Commit, w.Branch, w.Output = true, "add-web", outputJSON }},
		{name: "branch without commit", argv: []string{"default/web", "--branch", "x"}, err: "--branch needs --commit"},
		{name: "dry run and commit", argv: []string{"default/web", "--dry-run", "--commit"}, err: "--dry-run and --commit do not go together"},
		{name: "bad branch", argv: []string{"default/web", "--commit", "--branch", "bad..name"}, err: "--branch"},
		{name: "remote without push", argv: []string{"default/web", "--remote", "upstream"}, err: "--remote needs --push"},
		{name: "output bad", argv: []string{"default/web", "--output", "yaml"}, err: "want text or json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *addAppOptions
			cmd := newAddAppCmd(IO{In: strings.NewReader(c.stdin), Out: io.Discard, ErrOut: io.Discard}, noEnv,
				func(_ context.Context, o *addAppOptions) error { got = o; return nil })
			if wantErr(t, parseCmd(cmd, c.argv), c.err) {
				if got != nil {
					t.Fatal("runF ran despite the error")
				}
				return
			}
			want := base
			if c.want != nil {
				c.want(&want)
			}
			if !reflect.DeepEqual(got.App, want) {
				t.Errorf("options:\n got %+v\nwant %+v", got.App, want)
			}
			if (got.App.Replicas == nil) != (want.Replicas == nil) {
				t.Errorf("replicas set = %v, want %v", got.App.Replicas != nil, want.Replicas != nil)
			}
			wantWrite := writeFlags{Remote: gitops.DefaultRemote, Output: outputText, command: "add-app"}
			if c.write != nil {
				c.write(&wantWrite)
			}
			if !reflect.DeepEqual(got.Write, wantWrite) {
				t.Errorf("write flags:\n got %+v\nwant %+v", got.Write, wantWrite)
			}
		})
	}
}

func TestRemoveAppOptions(t *testing.T) {
	cases := []struct {
		argv []string
		want apps.RemoveOptions
		err  string
	}{
		{argv: []string{"default/wiki"}, want: apps.RemoveOptions{Namespace: "default", Name: "wiki"}},
		{argv: []string{"default/wiki", "--force"}, want: apps.RemoveOptions{Namespace: "default", Name: "wiki", Force: true}},
		{argv: []string{"wiki"}, err: "want <namespace>/<app>"},
		{argv: []string{"default/wiki/x"}, err: "want <namespace>/<app>"},
		{argv: []string{"default/wiki", "--push"}, err: "--push needs --commit"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.argv, " "), func(t *testing.T) {
			var got *removeAppOptions
			cmd := newRemoveAppCmd(IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, noEnv,
				func(_ context.Context, o *removeAppOptions) error { got = o; return nil })
			if wantErr(t, parseCmd(cmd, c.argv), c.err) {
				return
			}
			if !reflect.DeepEqual(got.App, c.want) {
				t.Errorf("got %+v, want %+v", got.App, c.want)
			}
		})
	}
}

func TestDomainOptions(t *testing.T) {
	cases := []struct {
		offboard bool
		argv     []string
		want     domainOptions
		err      string
	}{
		{argv: []string{"example.net"}, want: domainOptions{Domain: "example.net"}},
		{argv: []string{"example.net", "--var", "SECRET_DOMAIN_FOUR", "--gateways", "envoy-external,envoy-internal"},
			want: domainOptions{Domain: "example.net", Var: "SECRET_DOMAIN_FOUR", Gateways: []string{"envoy-external", "envoy-internal"}}},
		{argv: []string{"example.net", "--skip", "cloudflare-tunnel,external-dns", "--skip", "cert-manager"},
			want: domainOptions{Domain: "example.net", Skip: []domains.Component{domains.ComponentTunnel, domains.ComponentDNS, domains.ComponentCertManager}}},
		{argv: []string{"example.net", "--skip", "dns"}, err: `unknown component "dns" (want one of cluster-secrets, cloudflare-dns, cert-manager, envoy-gateway, cloudflare-tunnel)`},
		{offboard: true, argv: []string{"example.net", "--skip", "cloudflared"},
			want: domainOptions{Domain: "example.net", Skip: []domains.Component{domains.ComponentTunnel}}},
		{offboard: true, argv: []string{"example.net", "--gateways", "x"}, err: "unknown flag: --gateways"},
		{argv: []string{}, err: "accepts 1 arg(s)"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.argv, " "), func(t *testing.T) {
			var got *domainOptions
			runF := func(_ context.Context, o *domainOptions) error { got = o; return nil }
			streams := IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
			cmd := newOnboardDomainCmd(streams, noEnv, runF)
			if c.offboard {
				cmd = newOffboardDomainCmd(streams, noEnv, runF)
			}
			if wantErr(t, parseCmd(cmd, c.argv), c.err) {
				return
			}
			got.IO, got.Env, got.Write = IO{}, Env{}, writeFlags{}
			if !reflect.DeepEqual(*got, c.want) {
				t.Errorf("got %+v, want %+v", *got, c.want)
			}
		})
	}
}

func TestPromoteOptions(t *testing.T) {
	base := promote.Options{SourceNamespace: scratch.DefaultNamespace, App: "hello", Mode: promote.ModeHelm,
		Namespace: "default", Expose: generator.ExposeGateway}
	cases := []struct {
		argv []string
		want func(o *promote.Options)
		err  string
	}{
		{argv: []string{"hello"}},
		{argv: []string{"lab/hello", "--mode", "raw", "--to", "tools", "--name", "greeter", "-f", "h.yaml"},
			want: func(o *promote.Options) {
				o.SourceNamespace, o.Mode, o.Namespace, o.Name, o.FromFile = "lab", promote.ModeRaw, "tools", "greeter", "h.yaml"
			}},
		{argv: []string{"hello", "--mode", "kustomize"}, err: `invalid argument "kustomize" for "--mode" flag: want helm or raw`},
		{argv: []string{"hello", "--expose", "tunnel"}, want: func(o *promote.Options) { o.Expose = generator.ExposeTunnel }},
		{argv: []string{"hello", "--expose", "nodeport"}, err: "want gateway, tunnel or access"},
		{argv: []string{"hello", "-f", "x.yaml", "--context", "home"}, err: "-f reads a manifest, --kubeconfig and --context a cluster: pick one"},
		{argv: []string{"a/b/c"}, err: "want <app> or <namespace>/<app>"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.argv, " "), func(t *testing.T) {
			var got *promoteOptions
			cmd := newPromoteCmd(IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, noEnv,
				func(_ context.Context, o *promoteOptions) error { got = o; return nil })
			if wantErr(t, parseCmd(cmd, c.argv), c.err) {
				return
			}
			want := base
			if c.want != nil {
				c.want(&want)
			}
			if !reflect.DeepEqual(got.Promote, want) {
				t.Errorf("got %+v, want %+v", got.Promote, want)
			}
		})
	}
}

func TestScratchOptions(t *testing.T) {
	t.Run("new", func(t *testing.T) {
		cases := []struct {
			argv []string
			want scratch.Options
			out  string
			err  string
		}{
			{argv: []string{"hello", "--image", "nginx:1.27"},
				want: scratch.Options{Name: "hello", Image: "nginx:1.27", Gateway: "external", Namespace: scratch.DefaultNamespace, Expose: generator.ExposeGateway}},
			{argv: []string{"hello", "--image", "nginx:1.27", "--port", "8080", "-n", "lab", "-o", "h.yaml", "--expose", "access", "--allow-domain", "example.org"},
				want: scratch.Options{Name: "hello", Image: "nginx:1.27", Port: 8080, Gateway: "external", Namespace: "lab", Expose: generator.ExposeAccess,
					Access: access.Options{EmailDomains: []string{"example.org"}}},
				out: "h.yaml"},
			{argv: []string{"hello", "--port", "0"}, err: "--port 0"},
			{argv: []string{"hello", "--gateway", "edge"}, err: "want external or internal"},
		}
		for _, c := range cases {
			var got *scratchNewOptions
			cmd := newScratchNewCmd(IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, noEnv,
				func(_ context.Context, o *scratchNewOptions) error { got = o; return nil })
			if wantErr(t, parseCmd(cmd, c.argv), c.err) {
				continue
			}
			if !reflect.DeepEqual(got.Scratch, c.want) || got.Out != c.out {
				t.Errorf("%v: got %+v (out %q), want %+v (out %q)", c.argv, got.Scratch, got.Out, c.want, c.out)
			}
		}
	})
	t.Run("ls", func(t *testing.T) {
		var got *scratchLsFlags
		cmd := newScratchLsCmd(IO{}, noEnv, func(f *scratchLsFlags) error { got = f; return nil })
		wantErr(t, parseCmd(cmd, []string{"-A", "--audit", "--output", "json"}), "")
		if want := (scratchLsFlags{Namespace: scratch.DefaultNamespace, AllNamespaces: true, Audit: true, Output: outputJSON}); !reflect.DeepEqual(*got, want) {
			t.Errorf("got %+v, want %+v", *got, want)
		}
		cmd = newScratchLsCmd(IO{}, noEnv, func(f *scratchLsFlags) error { got = f; return nil })
		wantErr(t, parseCmd(cmd, []string{}), "")
		if got.Output != outputText || got.Namespace != scratch.DefaultNamespace {
			t.Errorf("defaults: %+v", *got)
		}
		wantErr(t, parseCmd(newScratchLsCmd(IO{}, noEnv, nil), []string{"--output", "table"}), "want text or json")
	})
	t.Run("rm", func(t *testing.T) {
		var got *scratchRmFlags
		var app string
		cmd := newScratchRmCmd(IO{}, noEnv, func(f *scratchRmFlags, a string) error { got, app = f, a; return nil })
		wantErr(t, parseCmd(cmd, []string{"hello", "-y", "-n", "lab", "--context", "home"}), "")
		if want := (scratchRmFlags{kubeFlags: kubeFlags{Context: "home"}, Namespace: "lab", Yes: true}); !reflect.DeepEqual(*got, want) || app != "hello" {
			t.Errorf("got %+v %q, want %+v", *got, app, want)
		}
		wantErr(t, parseCmd(newScratchRmCmd(IO{}, noEnv, nil), []string{}), "accepts 1 arg(s)")
	})
}

func TestSecretOptions(t *testing.T) {
	var set *secretSetOptions
	cmd := newSecretSetCmd(IO{In: strings.NewReader("tok\n"), Out: io.Discard, ErrOut: io.Discard}, noEnv,
		func(_ context.Context, o *secretSetOptions) error { set = o; return nil })
	wantErr(t, parseCmd(cmd, []string{"network/cloudflare-tunnel", "TUNNEL_TOKEN=-", "MODE=prod", "--name", "tunnel-secret"}), "")
	want := []generator.KV{{Key: "TUNNEL_TOKEN", Value: "tok"}, {Key: "MODE", Value: "prod"}}
	if set.Target != "network/cloudflare-tunnel" || set.Name != "tunnel-secret" || !reflect.DeepEqual(set.Values, want) {
		t.Errorf("set: %+v", set)
	}
	for argv, msg := range map[string]string{
		"a/b":         "requires at least 2 arg(s)",
		"a/b KEY":     `"KEY=…" is not KEY=VALUE`,
		"a/b A=- B=-": "B=-: only one value can come from stdin",
	} {
		cmd := newSecretSetCmd(IO{In: strings.NewReader("x")}, noEnv, func(context.Context, *secretSetOptions) error { return nil })
		wantErr(t, parseCmd(cmd, strings.Fields(argv)), msg)
	}

	var get *secretGetOptions
	cmd = newSecretGetCmd(IO{}, noEnv, func(o *secretGetOptions) error { get = o; return nil })
	wantErr(t, parseCmd(cmd, []string{"default/bot", "TOKEN", "--name", "bot-db", "--repo", "/r"}), "")
	if get.Target != "default/bot" || get.Key != "TOKEN" || get.Name != "bot-db" || get.Repo.Repo != "/r" {
		t.Errorf("get: %+v", get)
	}
	wantErr(t, parseCmd(newSecretGetCmd(IO{}, noEnv, nil), []string{"default/bot"}), "accepts 2 arg(s)")
}

func TestInitOptions(t *testing.T) {
	var got *initFlags
	var dir string
	cmd := newInitCmd(IO{}, noEnv, func(f *initFlags, d string) error { got, dir = f, d; return nil })
	wantErr(t, parseCmd(cmd, []string{"home-ops", "--domain", "example.org", "--cluster", "home", "--no-git"}), "")
	if want := (initFlags{Domain: "example.org", Cluster: "home", Branch: "main", NoGit: true}); !reflect.DeepEqual(*got, want) || dir != "home-ops" {
		t.Errorf("got %+v %q, want %+v", *got, dir, want)
	}
	wantErr(t, parseCmd(newInitCmd(IO{}, noEnv, nil), []string{}), "accepts 1 arg(s)")
}

func TestCheckAndDiffOptions(t *testing.T) {
	var c *checkFlags
	cmd := newCheckCmd(IO{}, noEnv, func(f *checkFlags) error { c = f; return nil })
	wantErr(t, parseCmd(cmd, []string{}), "")
	if c.Output != checkFormat(check.FormatText) || c.Color != "auto" {
		t.Errorf("check defaults: %+v", *c)
	}
	cmd = newCheckCmd(IO{}, noEnv, func(f *checkFlags) error { c = f; return nil })
	wantErr(t, parseCmd(cmd, []string{"--output", "github", "--color", "never", "--disable", "a,b", "--markdown", "m.md"}), "")
	if c.Output != checkFormat(check.FormatGitHub) || c.Color != "never" || !reflect.DeepEqual(c.Disable, []string{"a", "b"}) || c.Markdown != "m.md" {
		t.Errorf("check: %+v", *c)
	}
	wantErr(t, parseCmd(newCheckCmd(IO{}, noEnv, nil), []string{"--output", "sarif"}), "want text, json, github or markdown")
	wantErr(t, parseCmd(newCheckCmd(IO{}, noEnv, nil), []string{"--color", "yes"}), "want auto, always or never")

	var d *diffFlags
	cmd = newDiffCmd(IO{}, noEnv, func(f *diffFlags) error { d = f; return nil })
	wantErr(t, parseCmd(cmd, []string{"--base", "main"}), "")
	if d.Base != "main" || d.Head != worktree || d.Output != "text" {
		t.Errorf("diff: %+v", *d)
	}
	wantErr(t, parseCmd(newDiffCmd(IO{}, noEnv, nil), []string{"--output", "html"}), "want text, markdown or json")
}

func TestPreflightAndRecoverOptions(t *testing.T) {
	var p *preflightFlags
	var hosts []string
	cmd := newPreflightCmd(IO{}, noEnv, func(f *preflightFlags, h []string) error { p, hosts = f, h; return nil })
	wantErr(t, parseCmd(cmd, []string{"a.example.org", "b", "--target", "t.example.org"}), "")
	if p.Target != "t.example.org" || p.Output != outputText || !reflect.DeepEqual(hosts, []string{"a.example.org", "b"}) {
		t.Errorf("preflight: %+v %v", *p, hosts)
	}
	wantErr(t, parseCmd(newPreflightCmd(IO{}, noEnv, nil), []string{}), "requires at least 1 arg(s)")

	var r *repoFlags
	cmd = newRecoverCmd(IO{}, noEnv, func(f *repoFlags) error { r = f; return nil })
	wantErr(t, parseCmd(cmd, []string{"--repo", "/r"}), "")
	if r.Repo != "/r" {
		t.Errorf("recover: %+v", *r)
	}
	wantErr(t, parseCmd(newRecoverCmd(IO{}, noEnv, nil), []string{"x"}), `unknown command "x"`)
}

// TestUsageErrorsPointAtHelp: a usage error ends with the failing
// command's help, at every level; other failures do not.
func TestUsageErrorsPointAtHelp(t *testing.T) {
	cases := []struct {
		argv []string
		code int
		tail string
	}{
		{[]string{"add-app", "web"}, ExitUsage, "see `gen add-app --help`\n"},
		{[]string{"scratch", "new", "hello", "--port", "0"}, ExitUsage, "see `gen scratch new --help`\n"},
		{[]string{"nosuchcommand"}, ExitUsage, "see `gen --help`\n"},
		{[]string{"check", "--output", "sarif"}, ExitUsage, "see `gen check --help`\n"},
		{[]string{"recover", "--repo", t.TempDir() + "/missing"}, ExitOK, ""},
	}
	for _, c := range cases {
		var errOut strings.Builder
		code := Run(c.argv, IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}, noEnv)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.argv, code, c.code, errOut.String())
		}
		if c.tail != "" && !strings.HasSuffix(errOut.String(), c.tail) {
			t.Errorf("%v: stderr %q does not end with %q", c.argv, errOut.String(), c.tail)
		}
		if c.tail == "" && strings.Contains(errOut.String(), "--help`") {
			t.Errorf("%v: stderr %q points at help", c.argv, errOut.String())
		}
	}
	if code := exitCode(&generator.OptionsError{Err: errors.New("x")}); code != ExitUsage {
		t.Errorf("a generator's options error exits %d", code)
	}
}
