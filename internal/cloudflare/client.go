// Package cloudflare asks the Cloudflare API (v4) what gen needs before a
// hostname goes live: whether the token works, which zone holds a name, and
// which DNS records the name already has. It is built on the maintained
// client library github.com/cloudflare/cloudflare-go/v6, which retries
// rate-limited (429) and failed (5xx) requests with backoff, honouring
// Retry-After; every call takes a context and stops when it is cancelled;
// lists are read page by page to the end.
package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/user"
	"github.com/cloudflare/cloudflare-go/v6/zones"

	"github.com/gen-gitops/gen/internal/netguard"
)

// DefaultBaseURL is the Cloudflare API's v4 endpoint.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4/"

// Options configure a Client.
type Options struct {
	// Token is an API token (CLOUDFLARE_API_TOKEN).
	Token string
	// BaseURL is DefaultBaseURL unless set (a test server).
	BaseURL string
	// HTTPClient is http.DefaultClient unless set.
	HTTPClient *http.Client
	// MaxRetries bounds the retries of one request on 429, 5xx and
	// connection errors (3 when zero; negative for none).
	MaxRetries int
}

// Client reads tokens, zones and DNS records. It is safe for concurrent
// use.
type Client struct {
	zones   *zones.ZoneService
	records *dns.RecordService
	tokens  *user.TokenService
}

// New returns a Client. It reads nothing from the environment: the token
// and the URL are what opts say.
func New(opts Options) *Client {
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	retries := opts.MaxRetries
	switch {
	case retries == 0:
		retries = 3
	case retries < 0:
		retries = 0
	}
	ro := []option.RequestOption{
		// The API is a server the user chose by giving a token: its
		// requests pass gen's network guard.
		option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			return next(req.WithContext(netguard.Permit(req.Context())))
		}),
		option.WithBaseURL(base),
		option.WithAPIToken(opts.Token),
		option.WithMaxRetries(retries),
	}
	if opts.HTTPClient != nil {
		ro = append(ro, option.WithHTTPClient(opts.HTTPClient))
	}
	return &Client{zones: zones.NewZoneService(ro...), records: dns.NewRecordService(ro...), tokens: user.NewTokenService(ro...)}
}

// Zone is a DNS zone of the account.
type Zone struct {
	ID   string
	Name string
}

// Record is one DNS record.
type Record struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	Proxied bool   `json:"proxied"`
}

// APIError is a request the API refused, with the v4 envelope's errors.
type APIError struct {
	// Op says what gen asked ("verifying the API token").
	Op         string
	StatusCode int
	Errors     []ErrorData
}

// ErrorData is one entry of the envelope's errors list.
type ErrorData struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	var msgs []string
	for _, d := range e.Errors {
		msgs = append(msgs, fmt.Sprintf("%s (code %d)", d.Message, d.Code))
	}
	if len(msgs) == 0 {
		msgs = append(msgs, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("%s: Cloudflare answered %d: %s", e.Op, e.StatusCode, strings.Join(msgs, "; "))
}

// TokenError is a token that cannot be used: invalid, expired, disabled,
// or without a permission gen needs. Its message says what to do.
type TokenError struct {
	Msg string
	Err error
}

func (e *TokenError) Error() string { return e.Msg }
func (e *TokenError) Unwrap() error { return e.Err }

// capture keeps the status and envelope errors of the last failed response
// of one call: the client library's own error type is internal to it.
type capture struct {
	mu     sync.Mutex
	status int
	errs   []ErrorData
}

func (c *capture) option() option.RequestOption {
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(req)
		if err != nil || res == nil || res.StatusCode < 400 {
			return res, err
		}
		body, rerr := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return res, err
		}
		var env struct {
			Errors []ErrorData `json:"errors"`
		}
		_ = json.Unmarshal(body, &env)
		c.mu.Lock()
		c.status, c.errs = res.StatusCode, env.Errors
		c.mu.Unlock()
		return res, err
	})
}

// wrap turns a failed call into an *APIError when the API answered, and
// keeps cancellation and transport errors as they are.
func (c *capture) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == 0 {
		return fmt.Errorf("%s: %w", op, err)
	}
	return &APIError{Op: op, StatusCode: c.status, Errors: c.errs}
}

// VerifyToken checks that the token is valid and active. A token the API
// does not accept, or one that has expired or been disabled, is a
// *TokenError.
func (c *Client) VerifyToken(ctx context.Context) error {
	var cp capture
	res, err := c.tokens.Verify(ctx, cp.option())
	if err = cp.wrap("verifying the API token", err); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden || hasCode(ae, 1000)) {
			return &TokenError{Msg: "CLOUDFLARE_API_TOKEN is not a valid API token (it may have expired or been rolled): create a new one in the Cloudflare dashboard under My Profile > API Tokens", Err: err}
		}
		return err
	}
	switch res.Status {
	case user.TokenVerifyResponseStatusActive:
		return nil
	case user.TokenVerifyResponseStatusExpired:
		return &TokenError{Msg: fmt.Sprintf("CLOUDFLARE_API_TOKEN expired on %s: create a new one under My Profile > API Tokens", res.ExpiresOn.Format("2006-01-02"))}
	}
	return &TokenError{Msg: fmt.Sprintf("CLOUDFLARE_API_TOKEN is %s: enable it, or create a new one under My Profile > API Tokens", res.Status)}
}

func hasCode(e *APIError, code int) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// ErrNoZone is wrapped when no zone of the account holds a hostname.
var ErrNoZone = errors.New("no zone")

// ZoneFor finds the zone that holds host: the zone whose name is the
// longest suffix of host. When the token sees no such zone, the error says
// which permission the token needs.
func (c *Client) ZoneFor(ctx context.Context, host string) (Zone, error) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	labels := strings.Split(host, ".")
	for i := 0; i+2 <= len(labels); i++ {
		name := strings.Join(labels[i:], ".")
		var cp capture
		var p zones.ZoneListParams
		p.Name.Value, p.Name.Present = name, true
		page, err := c.zones.List(ctx, p, cp.option())
		if err = cp.wrap("looking up zone "+name, err); err != nil {
			return Zone{}, permission(err, "Zone > Zone > Read", name)
		}
		for _, z := range page.Result {
			if strings.EqualFold(z.Name, name) {
				return Zone{ID: z.ID, Name: z.Name}, nil
			}
		}
	}
	return Zone{}, fmt.Errorf("%w for %s is visible to the token: add the domain to the Cloudflare account, or give the token Zone > Zone > Read and Zone > DNS > Read on it", ErrNoZone, host)
}

// permission turns a refusal into a *TokenError naming the permission the
// token lacks.
func permission(err error, perm, zone string) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch {
	case ae.StatusCode == http.StatusUnauthorized || hasCode(ae, 1000):
		return &TokenError{Msg: "CLOUDFLARE_API_TOKEN is not a valid API token (it may have expired or been rolled): create a new one under My Profile > API Tokens", Err: err}
	case ae.StatusCode == http.StatusForbidden || hasCode(ae, 9109) || hasCode(ae, 10000):
		return &TokenError{Msg: fmt.Sprintf("CLOUDFLARE_API_TOKEN may not read %s: give it the permission %s (My Profile > API Tokens > edit the token)", zone, perm), Err: err}
	}
	return err
}

// maxPages bounds how many pages one listing reads.
const maxPages = 100

// Records returns every DNS record of zone called exactly name, of any
// type, reading all pages.
func (c *Client) Records(ctx context.Context, zone Zone, name string) ([]Record, error) {
	var out []Record
	for pageNo := 1; pageNo <= maxPages; pageNo++ {
		var cp capture
		var p dns.RecordListParams
		p.ZoneID.Value, p.ZoneID.Present = zone.ID, true
		p.Name.Value.Exact.Value, p.Name.Value.Exact.Present = name, true
		p.Name.Present = true
		p.Page.Value, p.Page.Present = float64(pageNo), true
		p.PerPage.Value, p.PerPage.Present = 100, true
		page, err := c.records.List(ctx, p, cp.option())
		if err = cp.wrap(fmt.Sprintf("listing the DNS records of %s", name), err); err != nil {
			return nil, permission(err, "Zone > DNS > Read", zone.Name)
		}
		for _, r := range page.Result {
			out = append(out, Record{ID: r.ID, Type: string(r.Type), Name: r.Name, Content: r.Content, Proxied: r.Proxied})
		}
		perPage := int(page.ResultInfo.PerPage)
		total := 0
		if f, ok := page.ResultInfo.JSON.ExtraFields["total_pages"]; ok {
			total, _ = strconv.Atoi(f.Raw())
		}
		if len(page.Result) == 0 || (total > 0 && pageNo >= total) || (total == 0 && (perPage == 0 || len(page.Result) < perPage)) {
			return out, nil
		}
	}
	return nil, fmt.Errorf("listing the DNS records of %s: more than %d pages", name, maxPages)
}
