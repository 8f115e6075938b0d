// Package fetch is gen's one door to the network for Helm: it downloads
// chart repository indexes, chart packages, OCI manifests and layers, and
// schema documents, through a transport built here under a host Policy
// and per-host Credentials, into the content-addressed chartcache, with
// every digest verified and every size bounded. Offline, it answers from
// the cache alone and says what is missing.
//
// OCI registries are spoken to with go-containerregistry (the library
// source-controller uses for OCIRepository), chart repositories with
// plain HTTP GETs whose answers are read with Helm's own repository types
// by the caller.
package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gen-gitops/gen/internal/helm/chartcache"
)

// Limits bound what a Client reads.
type Limits struct {
	// Chart is the largest chart package (source-controller's limit).
	Chart int64
	// Index is the largest chart repository index (source-controller's
	// limit).
	Index int64
	// Manifest is the largest OCI manifest.
	Manifest int64
	// Document is the largest schema document.
	Document int64
	// Tags is the most tags read from one OCI repository.
	Tags int
	// Request is the longest one request may take, wall clock: a last
	// resort against a server that accepts and never answers.
	Request time.Duration
}

// DefaultLimits are source-controller's chart and index limits and room
// for everything else.
func DefaultLimits() Limits {
	return Limits{
		Chart:    10 << 20,
		Index:    50 << 20,
		Manifest: 4 << 20,
		Document: 1 << 20,
		Tags:     10000,
		Request:  2 * time.Minute,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Chart > 0 {
		d.Chart = l.Chart
	}
	if l.Index > 0 {
		d.Index = l.Index
	}
	if l.Manifest > 0 {
		d.Manifest = l.Manifest
	}
	if l.Document > 0 {
		d.Document = l.Document
	}
	if l.Tags > 0 {
		d.Tags = l.Tags
	}
	if l.Request > 0 {
		d.Request = l.Request
	}
	return d
}

func (l Limits) maxBody() int64 {
	return max(l.Chart, l.Index, l.Manifest, l.Document)
}

// Options configure a Client.
type Options struct {
	// Policy says which hosts may be reached. The zero Policy reaches
	// none.
	Policy Policy
	// Credentials, if any, are sent to their hosts only.
	Credentials *Credentials
	// Cache is where everything fetched is kept and found again. Required.
	Cache *chartcache.Cache
	// Offline answers from the cache alone; what it lacks is a
	// *MissingError.
	Offline bool
	// Refresh asks the network again for what a tag, a chart URL or a
	// schema URL names even when the cache remembers an answer. Without
	// it, a tag resolved once is trusted (chart versions are not
	// re-pushed by convention) and a run with a warm cache needs no
	// network at all; indexes and tag lists are always read again when
	// online, once per Client.
	Refresh bool
	Limits  Limits
	// UserAgent is sent with every request.
	UserAgent string
}

// Client fetches through the door. It is safe for concurrent use.
type Client struct {
	opts   Options
	limits Limits
	door   *door
	http   *http.Client

	mu      sync.Mutex
	indexes map[string][]byte   // this run's indexes by URL
	tags    map[string][]string // this run's tag lists by repository
}

// New builds a Client.
func New(opts Options) (*Client, error) {
	if opts.Cache == nil {
		return nil, errors.New("fetch: a chart cache is required")
	}
	l := opts.Limits.withDefaults()
	d := newDoor(opts.Policy, opts.Credentials, l.maxBody())
	c := &Client{
		opts: opts, limits: l, door: d,
		indexes: map[string][]byte{}, tags: map[string][]string{},
	}
	c.http = &http.Client{
		Transport: d,
		Timeout:   l.Request,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			// Credentials stay with the host they were attached for, even
			// where net/http would keep them (another port of the same
			// host).
			if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
				req.Header.Del("Authorization")
			}
			return nil
		},
	}
	return c, nil
}

// Policy is the client's host policy.
func (c *Client) Policy() Policy { return c.opts.Policy }

// Offline says whether the client answers from the cache alone.
func (c *Client) Offline() bool { return c.opts.Offline }

// MissingError is what an offline Client says about something its cache
// does not hold.
type MissingError struct {
	// What names it: a chart reference, an index URL, a document URL.
	What string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s is not in the chart cache (offline)", e.What)
}

// Remember stores an answer under key for later runs.
func (c *Client) Remember(key string, value any) error {
	return c.opts.Cache.PutRecord(key, value)
}

// Recall reads an answer stored under key.
func (c *Client) Recall(key string, value any) (bool, error) {
	return c.opts.Cache.Record(key, value)
}

// Refresh says whether remembered answers should be asked again.
func (c *Client) Refresh() bool { return c.opts.Refresh && !c.opts.Offline }

// Blob returns cached content by digest.
func (c *Client) Blob(digest string, max int64) ([]byte, error) {
	return c.opts.Cache.Get(digest, max)
}

// get fetches a URL within max bytes.
func (c *Client) get(ctx context.Context, rawURL string, max int64, what string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	if cred, ok := c.opts.Credentials.lookup(u.Host); ok {
		req.Header.Set("Authorization", cred.header())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", redact(u), unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %s", redact(u), resp.Status)
	}
	data, err := readCapped(resp.Body, max, what)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", redact(u), err)
	}
	return data, nil
}

// Index reads a chart repository's index.yaml: from the network once per
// Client when online (kept in the cache), from the cache offline.
func (c *Client) Index(ctx context.Context, repoURL string) ([]byte, error) {
	indexURL := strings.TrimSuffix(repoURL, "/") + "/index.yaml"
	key := "helm-index " + indexURL
	c.mu.Lock()
	data, ok := c.indexes[indexURL]
	c.mu.Unlock()
	if ok {
		return data, nil
	}
	if c.opts.Offline {
		var digest string
		if ok, err := c.Recall(key, &digest); err != nil || !ok {
			return nil, &MissingError{What: indexURL}
		}
		data, err := c.Blob(digest, c.limits.Index)
		if err != nil {
			return nil, &MissingError{What: indexURL}
		}
		return data, nil
	}
	data, err := c.get(ctx, indexURL, c.limits.Index, "chart repository index")
	if err != nil {
		return nil, err
	}
	digest, err := c.opts.Cache.Put(data)
	if err != nil {
		return nil, err
	}
	if err := c.Remember(key, digest); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.indexes[indexURL] = data
	c.mu.Unlock()
	return data, nil
}

// Download fetches a chart package. When digest ("sha256:<hex>" or the
// bare hex an index lists) is known, the cache is asked first and what is
// downloaded must match it.
func (c *Client) Download(ctx context.Context, chartURL, digest string) ([]byte, string, error) {
	if digest != "" && !strings.Contains(digest, ":") {
		digest = "sha256:" + digest
	}
	key := "helm-chart " + chartURL
	if digest == "" && !c.Refresh() {
		var remembered string
		if ok, _ := c.Recall(key, &remembered); ok {
			digest = remembered
		}
	}
	if digest != "" {
		if data, err := c.Blob(digest, c.limits.Chart); err == nil {
			return data, digest, nil
		}
	}
	if c.opts.Offline {
		return nil, "", &MissingError{What: chartURL}
	}
	data, err := c.get(ctx, chartURL, c.limits.Chart, "chart package")
	if err != nil {
		return nil, "", err
	}
	got := chartcache.Digest(data)
	if digest != "" && !strings.EqualFold(got, digest) {
		return nil, "", fmt.Errorf("chart package %s has digest %s, the index says %s", chartURL, got, digest)
	}
	if _, err := c.opts.Cache.Put(data); err != nil {
		return nil, "", err
	}
	if err := c.Remember(key, got); err != nil {
		return nil, "", err
	}
	return data, got, nil
}

// Fetch reads a schema document (schema.Fetcher).
func (c *Client) Fetch(ctx context.Context, docURL string) ([]byte, error) {
	key := "schema-document " + docURL
	if !c.Refresh() {
		var digest string
		if ok, _ := c.Recall(key, &digest); ok {
			if data, err := c.Blob(digest, c.limits.Document); err == nil {
				return data, nil
			}
		}
	}
	if c.opts.Offline {
		return nil, &MissingError{What: docURL}
	}
	data, err := c.get(ctx, docURL, c.limits.Document, "schema document")
	if err != nil {
		return nil, err
	}
	digest, err := c.opts.Cache.Put(data)
	if err != nil {
		return nil, err
	}
	return data, c.Remember(key, digest)
}

// Repository is an OCI repository: "<registry>/<path>".
type Repository struct {
	// Name is the repository without scheme, as in an OCI URL.
	Name string
	// Insecure allows plain HTTP (OCIRepository's spec.insecure).
	Insecure bool
}

func (r Repository) parse() (name.Repository, error) {
	var opts []name.Option
	if r.Insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(r.Name, opts...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("OCI repository %q: %w", r.Name, err)
	}
	return repo, nil
}

func (c *Client) remote(ctx context.Context) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(c.door),
		remote.WithAuthFromKeychain(c.keychain()),
	}
	if c.opts.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.opts.UserAgent))
	}
	return opts
}

func (c *Client) keychain() *Credentials {
	if c.opts.Credentials == nil {
		return NewCredentials()
	}
	return c.opts.Credentials
}

// Tags lists an OCI repository's tags: from the registry once per Client
// when online (kept in the cache), from the cache offline.
func (c *Client) Tags(ctx context.Context, r Repository) ([]string, error) {
	key := "oci-tags " + r.Name
	c.mu.Lock()
	tags, ok := c.tags[r.Name]
	c.mu.Unlock()
	if ok {
		return tags, nil
	}
	if c.opts.Offline {
		if ok, err := c.Recall(key, &tags); err != nil || !ok {
			return nil, &MissingError{What: "the tags of oci://" + r.Name}
		}
		return tags, nil
	}
	repo, err := r.parse()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.limits.Request)
	defer cancel()
	tags, err = remote.List(repo, c.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("listing the tags of oci://%s: %w", r.Name, unwrapURLError(err))
	}
	if len(tags) > c.limits.Tags {
		return nil, fmt.Errorf("oci://%s has %d tags, more than the %d gen reads", r.Name, len(tags), c.limits.Tags)
	}
	if err := c.Remember(key, tags); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.tags[r.Name] = tags
	c.mu.Unlock()
	return tags, nil
}

// Descriptor names a blob.
type Descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// Manifest is an OCI image manifest.
type Manifest struct {
	// Digest is the manifest's own digest (the revision source-controller
	// reports).
	Digest string       `json:"-"`
	Config Descriptor   `json:"config"`
	Layers []Descriptor `json:"layers"`
}

// Manifest resolves reference (a tag, or a "sha256:" digest) in an OCI
// repository. A tag once resolved is remembered (see Options.Refresh); a
// digest is read from the cache when it is there. The manifest's digest is
// verified.
func (c *Client) Manifest(ctx context.Context, r Repository, reference string) (*Manifest, error) {
	isDigest := strings.HasPrefix(reference, "sha256:")
	key := "oci-tag " + r.Name + ":" + reference
	digest := ""
	if isDigest {
		digest = reference
	} else if !c.Refresh() {
		_, _ = c.Recall(key, &digest)
	}
	if digest != "" {
		if data, err := c.Blob(digest, c.limits.Manifest); err == nil {
			return parseManifest(data, digest)
		}
	}
	what := "oci://" + r.Name + ":" + reference
	if isDigest {
		what = "oci://" + r.Name + "@" + reference
	}
	if c.opts.Offline {
		return nil, &MissingError{What: what}
	}
	repo, err := r.parse()
	if err != nil {
		return nil, err
	}
	var ref name.Reference = repo.Tag(reference)
	if isDigest {
		ref = repo.Digest(reference)
	}
	ctx, cancel := context.WithTimeout(ctx, c.limits.Request)
	defer cancel()
	desc, err := remote.Get(ref, c.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", what, unwrapURLError(err))
	}
	if int64(len(desc.Manifest)) > c.limits.Manifest {
		return nil, &SizeError{What: "manifest of " + what, Limit: c.limits.Manifest}
	}
	got := chartcache.Digest(desc.Manifest)
	if got != desc.Digest.String() || (isDigest && got != reference) {
		return nil, fmt.Errorf("manifest of %s does not match its digest", what)
	}
	if _, err := c.opts.Cache.Put(desc.Manifest); err != nil {
		return nil, err
	}
	if !isDigest {
		if err := c.Remember(key, got); err != nil {
			return nil, err
		}
	}
	return parseManifest(desc.Manifest, got)
}

func parseManifest(data []byte, digest string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", digest, err)
	}
	m.Digest = digest
	return &m, nil
}

// Layer fetches a layer of an OCI artifact, verified against its digest,
// within the chart budget.
func (c *Client) Layer(ctx context.Context, r Repository, d Descriptor) ([]byte, error) {
	if d.Size > c.limits.Chart {
		return nil, &SizeError{What: "layer " + d.Digest + " of oci://" + r.Name, Limit: c.limits.Chart}
	}
	if data, err := c.Blob(d.Digest, c.limits.Chart); err == nil {
		return data, nil
	}
	if c.opts.Offline {
		return nil, &MissingError{What: "oci://" + r.Name + "@" + d.Digest}
	}
	repo, err := r.parse()
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("layer of oci://%s: %w", r.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.limits.Request)
	defer cancel()
	layer, err := remote.Layer(repo.Digest(h.String()), c.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("fetching layer %s of oci://%s: %w", d.Digest, r.Name, unwrapURLError(err))
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching layer %s of oci://%s: %w", d.Digest, r.Name, unwrapURLError(err))
	}
	defer rc.Close()
	data, err := readCapped(rc, c.limits.Chart, "layer "+d.Digest+" of oci://"+r.Name)
	if err != nil {
		return nil, err
	}
	if chartcache.Digest(data) != d.Digest {
		return nil, fmt.Errorf("layer %s of oci://%s does not match its digest", d.Digest, r.Name)
	}
	if _, err := c.opts.Cache.Put(data); err != nil {
		return nil, err
	}
	return data, nil
}

// unwrapURLError drops net/url's "Get <url>:" wrapping, which repeats the
// URL (and would print any credentials in it), keeping the cause.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact prints a URL without its user information.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
