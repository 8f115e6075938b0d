// Package initrepo writes a new repository for gen init: the Flux root, the
// sops component with an encrypted cluster-secrets, cert-manager,
// envoy-gateway, the Cloudflare tunnel and external-dns, .sops.yaml, a
// README. (The package is not called init: Go reserves that name.)
package initrepo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/urlredact"
	"github.com/gen-gitops/gen/scaffolds"
)

// Placeholders gen init writes for what it was not told. Each one is named
// in a note of the changeset; the README of the new repository says how to
// replace them.
const (
	PlaceholderGitURL          = "https://github.com/OWNER/REPOSITORY"
	PlaceholderTunnelID        = "00000000-0000-0000-0000-000000000000"
	PlaceholderTunnelToken     = "replace-with-the-tunnel-token"
	PlaceholderCloudflareToken = "replace-with-a-cloudflare-api-token"
)

// Options are the inputs of Generate. Default fills in what was left out;
// Validate checks them.
type Options struct {
	// Domain is the primary domain, SECRET_DOMAIN (example.org).
	Domain string
	// Cluster names the cluster (a DNS label): CLUSTER_NAME and external-dns's
	// owner id.
	Cluster string
	// GitURL is where Flux reads the repository from (PlaceholderGitURL when
	// empty); Branch is its branch (main when empty).
	GitURL string
	Branch string
	// TunnelToken is the cloudflared tunnel token; the tunnel ID is read
	// from it when TunnelID is empty.
	TunnelToken string
	TunnelID    string
	// CloudflareToken is the API token cert-manager and external-dns use.
	CloudflareToken string
	// ACMEEmail is the Let's Encrypt account address (none when empty: the
	// domain stays out of every file that is not encrypted).
	ACMEEmail string
	// AgeRecipient is the public age key every secret is encrypted to.
	AgeRecipient string
	// Sealer encrypts the secret files; build it from SopsConfig's output.
	Sealer generator.SecretSealer
}

var (
	tunnelIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	ageRecipient    = regexp.MustCompile(`^age1[02-9ac-hj-np-z]{58}$`)
)

// Default fills in the options left empty, and those the others decide:
// the domain as a DNS name is written (lowercase, no trailing dot), the
// main branch, the tunnel ID the tunnel token names.
func (o *Options) Default() {
	o.Domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o.Domain)), ".")
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.TunnelID == "" && o.TunnelToken != "" {
		o.TunnelID, _ = TunnelIDFromToken(o.TunnelToken)
	}
}

// Validate checks the options; Default runs first.
func (o Options) Validate() error {
	if o.Domain == "" {
		return fmt.Errorf("--domain is required: the domain the cluster serves, e.g. example.org")
	}
	if errs := validation.IsDNS1123Subdomain(o.Domain); len(errs) > 0 || !strings.Contains(o.Domain, ".") {
		return fmt.Errorf("--domain %q is not a domain name like example.org", o.Domain)
	}
	if o.Cluster == "" {
		return fmt.Errorf("--cluster is required: a short name for the cluster, e.g. home")
	}
	if errs := validation.IsDNS1123Label(o.Cluster); len(errs) > 0 {
		return fmt.Errorf("--cluster %q is not a valid name (lowercase letters, digits and -): %s", o.Cluster, strings.Join(errs, "; "))
	}
	if strings.ContainsAny(o.Branch, " ~^:?*[\\") || strings.Contains(o.Branch, "..") || strings.HasPrefix(o.Branch, "-") {
		return fmt.Errorf("--branch %q is not a valid branch name", o.Branch)
	}
	if o.GitURL != "" {
		if urlredact.HasCredentials(o.GitURL) {
			return fmt.Errorf("--git-url %q holds credentials, and the URL is committed to the repository: drop them; Flux reads them from the flux-system Secret",
				urlredact.URL(o.GitURL))
		}
		u, err := url.Parse(o.GitURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "ssh") || u.Host == "" {
			return fmt.Errorf("--git-url %q: Flux needs an https:// or ssh:// URL (for GitHub over SSH: ssh://git@github.com/OWNER/REPOSITORY)", urlredact.URL(o.GitURL))
		}
	}
	if o.TunnelToken != "" {
		id, err := TunnelIDFromToken(o.TunnelToken)
		if err != nil {
			return err
		}
		if o.TunnelID != id {
			return fmt.Errorf("--tunnel-id %s is not the tunnel of the token (%s)", o.TunnelID, id)
		}
	}
	if o.TunnelID != "" && !tunnelIDPattern.MatchString(o.TunnelID) {
		return fmt.Errorf("--tunnel-id %q is not a tunnel UUID like 7b56e8fd-0abc-4e14-9447-5d848c2394b7", o.TunnelID)
	}
	if o.ACMEEmail != "" && !strings.Contains(o.ACMEEmail, "@") {
		return fmt.Errorf("--acme-email %q is not an email address", o.ACMEEmail)
	}
	if !ageRecipient.MatchString(o.AgeRecipient) {
		return fmt.Errorf("age recipient %q is not an age public key (age1...)", o.AgeRecipient)
	}
	return nil
}

// TunnelIDFromToken reads the tunnel ID out of a cloudflared tunnel token:
// base64 of a JSON object whose "t" is the tunnel's UUID.
func TunnelIDFromToken(token string) (string, error) {
	token = strings.TrimSpace(token)
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(token); err == nil {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("the tunnel token is not a cloudflared token (not base64); copy it from 'cloudflared tunnel token <name>' or the dashboard")
	}
	var t struct {
		TunnelID string `json:"t"`
	}
	if err := json.Unmarshal(raw, &t); err != nil || !tunnelIDPattern.MatchString(t.TunnelID) {
		return "", fmt.Errorf("the tunnel token does not name a tunnel; copy it from 'cloudflared tunnel token <name>' or the dashboard")
	}
	return t.TunnelID, nil
}

// SopsConfig returns the .sops.yaml of a new repository whose secrets are
// encrypted to recipient.
func SopsConfig(recipient string) ([]byte, error) {
	return scaffolds.RenderInit(".sops.yaml", map[string]any{"AgeRecipient": recipient})
}

// Generate returns the complete skeleton of a new repository: the Flux root
// (GitRepository and Kustomizations), the sops component with an encrypted
// cluster-secrets, cert-manager, envoy-gateway, the Cloudflare tunnel and
// external-dns with their secrets encrypted, .sops.yaml, .gitignore and a
// README. Paths are relative to the new repository's root.
func Generate(opts Options) (*generator.Changeset, error) {
	opts.Default()
	if err := opts.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	if opts.Sealer == nil {
		return nil, fmt.Errorf("gen init encrypts its secrets, and no sealer was given")
	}
	// The domain is kept out of the title and every readable file, as the
	// repositories of this shape keep it in cluster-secrets only.
	cs := &generator.Changeset{Title: fmt.Sprintf("Start the %s cluster's Flux repository", opts.Cluster)}
	data := map[string]any{
		"Domain":             opts.Domain,
		"Cluster":            opts.Cluster,
		"GitURL":             opts.GitURL,
		"GitSecret":          strings.HasPrefix(opts.GitURL, "ssh://"),
		"Branch":             opts.Branch,
		"TunnelID":           opts.TunnelID,
		"TunnelToken":        opts.TunnelToken,
		"CloudflareToken":    opts.CloudflareToken,
		"ACMEEmail":          opts.ACMEEmail,
		"AgeRecipient":       opts.AgeRecipient,
		"AppTemplateURL":     generator.DefaultAppTemplateURL,
		"AppTemplateVersion": generator.DefaultAppTemplateVersion,
	}
	if opts.GitURL == "" {
		data["GitURL"] = PlaceholderGitURL
		cs.Note("kubernetes/flux/cluster/flux-system.yaml: set the repository's URL (spec.url is %s), or rerun with --git-url", PlaceholderGitURL)
	} else if data["GitSecret"].(bool) {
		cs.Note("kubernetes/flux/cluster/flux-system.yaml reads %s with the SSH key in Secret flux-system/flux-system; create it before applying (flux create secret git flux-system --url=%s)", opts.GitURL, opts.GitURL)
	}
	if opts.TunnelID == "" {
		data["TunnelID"] = PlaceholderTunnelID
		cs.Note("kubernetes/apps/network/cloudflare-tunnel/app/dnsendpoint.yaml: set the tunnel's UUID, or rerun with --tunnel-token")
	}
	if opts.TunnelToken == "" {
		data["TunnelToken"] = PlaceholderTunnelToken
		cs.Note("kubernetes/apps/network/cloudflare-tunnel/app/secret.sops.yaml: TUNNEL_TOKEN is a placeholder; set it with sops, or rerun with --tunnel-token")
	}
	if opts.CloudflareToken == "" {
		data["CloudflareToken"] = PlaceholderCloudflareToken
		cs.Note("the Cloudflare API token of cert-manager and external-dns is a placeholder (kubernetes/apps/cert-manager/cert-manager/app/secret.sops.yaml, kubernetes/apps/network/cloudflare-dns/app/secret.sops.yaml); set it with sops, or rerun with --cloudflare-token")
	}
	for _, p := range scaffolds.InitFiles() {
		out, err := scaffolds.RenderInit(p, data)
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(p, ".sops.yaml") || !strings.HasPrefix(p, "kubernetes/") {
			cs.Add(p, out)
			continue
		}
		sealed, err := opts.Sealer.Seal(p, out)
		if err != nil {
			return nil, fmt.Errorf("encrypting %q: %w", p, err)
		}
		cs.AddSensitive(p, sealed)
	}
	if err := cs.Normalize(); err != nil {
		return nil, err
	}
	return cs, nil
}
