package fetch

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
)

// Credentials are secrets for named hosts: each is sent to its host and to
// no other (the transport refuses a request that would carry one
// elsewhere, such as a registry's token service on another host), and
// never over plain HTTP except to a loopback address. Nothing is run to
// obtain them: docker credential helpers are not used.
type Credentials struct {
	byHost map[string]credential
}

type credential struct {
	Username, Password string
	// Token is a registry token sent as a bearer token.
	Token string
}

func (c credential) header() string {
	if c.Token != "" {
		return "Bearer " + c.Token
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
}

// NewCredentials returns an empty set.
func NewCredentials() *Credentials { return &Credentials{byHost: map[string]credential{}} }

// credentialHost is the key credentials are filed under: a registry or
// repository host with its port when one is given, Docker Hub's aliases
// folded into the name its registry answers to.
func credentialHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	h = strings.ToLower(h)
	if h == "" || strings.ContainsAny(h, "@?# ") {
		return "", fmt.Errorf("credentials for %q: not a host", h)
	}
	switch h {
	case "docker.io", "registry-1.docker.io":
		h = "index.docker.io"
	}
	return h, nil
}

// Add files a username and password for host.
func (c *Credentials) Add(host, username, password string) error {
	h, err := credentialHost(host)
	if err != nil {
		return err
	}
	c.byHost[h] = credential{Username: username, Password: password}
	return nil
}

// AddToken files a registry token for host.
func (c *Credentials) AddToken(host, token string) error {
	h, err := credentialHost(host)
	if err != nil {
		return err
	}
	c.byHost[h] = credential{Token: token}
	return nil
}

// AddDockerConfig reads a docker config.json: every entry of its "auths"
// with a username and password (or "auth") or a registry token is filed
// under its host. Entries that need a credential helper (credsStore,
// credHelpers) or an identity token are not used; their hosts are
// returned so the caller can say so.
func (c *Credentials) AddDockerConfig(data []byte) (skipped []string, err error) {
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
		CredHelpers map[string]string `json:"credHelpers"`
		CredsStore  string            `json:"credsStore"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("reading docker config: %w", err)
	}
	for host, a := range cfg.Auths {
		user, pass := a.Username, a.Password
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("reading docker config: auth of %s is not base64", host)
			}
			u, p, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("reading docker config: auth of %s is not user:password", host)
			}
			user, pass = u, p
		}
		switch {
		case a.RegistryToken != "":
			err = c.AddToken(host, a.RegistryToken)
		case a.IdentityToken != "":
			skipped = append(skipped, host)
		case user != "" || pass != "":
			err = c.Add(host, user, pass)
		default:
			if cfg.CredsStore != "" {
				skipped = append(skipped, host)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	for host := range cfg.CredHelpers {
		skipped = append(skipped, host)
	}
	sort.Strings(skipped)
	return skipped, nil
}

// AddSecret files the credentials of a Flux secretRef for host: a
// kubernetes.io/dockerconfigjson Secret (only its entry for host is
// used) or a Secret with username and password keys. The Secret must be
// readable: a SOPS-encrypted one is the caller's to decrypt or skip.
func (c *Credentials) AddSecret(host string, s *corev1.Secret) error {
	data := secretData(s)
	if cfg, ok := data[corev1.DockerConfigJsonKey]; ok {
		want, err := credentialHost(host)
		if err != nil {
			return err
		}
		one := NewCredentials()
		if _, err := one.AddDockerConfig(cfg); err != nil {
			return fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		cred, ok := one.byHost[want]
		if !ok {
			return fmt.Errorf("secret %s/%s has no credentials for %s", s.Namespace, s.Name, want)
		}
		c.byHost[want] = cred
		return nil
	}
	user, pass := string(data["username"]), string(data["password"])
	if user == "" && pass == "" {
		return fmt.Errorf("secret %s/%s has neither %s nor username and password", s.Namespace, s.Name, corev1.DockerConfigJsonKey)
	}
	return c.Add(host, user, pass)
}

// secretData merges stringData into data as the API server does.
func secretData(s *corev1.Secret) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range s.Data {
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out
}

// lookup returns the credential for a request host (host or host:port).
func (c *Credentials) lookup(hostport string) (credential, bool) {
	if c == nil {
		return credential{}, false
	}
	hp := strings.ToLower(hostport)
	if cred, ok := c.byHost[hp]; ok {
		return cred, true
	}
	host, port, err := net.SplitHostPort(hp)
	if err == nil && (port == "443" || port == "80") {
		cred, ok := c.byHost[host]
		return cred, ok
	}
	return credential{}, false
}

// owner returns the host a credential header belongs to, if it is one of
// these credentials.
func (c *Credentials) owner(header string) (string, bool) {
	if c == nil || header == "" {
		return "", false
	}
	for h, cred := range c.byHost {
		if cred.header() == header {
			return h, true
		}
	}
	return "", false
}

// Resolve makes Credentials a go-containerregistry keychain: a registry
// gets its own credentials or none.
func (c *Credentials) Resolve(r authn.Resource) (authn.Authenticator, error) {
	cred, ok := c.lookup(r.RegistryStr())
	if !ok {
		return authn.Anonymous, nil
	}
	if cred.Token != "" {
		return &authn.Bearer{Token: cred.Token}, nil
	}
	return &authn.Basic{Username: cred.Username, Password: cred.Password}, nil
}

// sameHost says whether a request host (host[:port]) is the credential's
// host.
func sameHost(owner, requestHost, scheme string) bool {
	rh := strings.ToLower(requestHost)
	if owner == rh {
		return true
	}
	host, port, err := net.SplitHostPort(rh)
	if err != nil {
		return false
	}
	return owner == host && ((port == "443" && scheme == "https") || (port == "80" && scheme == "http"))
}

// isLoopback says whether host (without port) is a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
