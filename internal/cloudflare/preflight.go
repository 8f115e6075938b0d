package cloudflare

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Check is one hostname to check, and the name its record should point
// at: the tunnel's name on the domain, external.<domain> (the default when
// Target is empty, with the zone's name as the domain).
type Check struct {
	Host   string
	Target string
}

// Status is what a check found.
type Status string

// Statuses of a Result.
const (
	// StatusFree: no record yet; external-dns will create it.
	StatusFree Status = "free"
	// StatusOwned: a CNAME to the target that external-dns owns.
	StatusOwned Status = "owned"
	// StatusConflict: a record external-dns will not replace, or one that
	// points elsewhere.
	StatusConflict Status = "conflict"
)

// Result is the finding for one hostname.
type Result struct {
	Host   string `json:"host"`
	Zone   string `json:"zone"`
	Target string `json:"target"`
	Status Status `json:"status"`
	// Records are the records of the name itself (not the ownership TXT).
	Records []Record `json:"records,omitempty"`
	// Owner is the external-dns owner id of the name, when it has an
	// ownership record.
	Owner string `json:"owner,omitempty"`
	// Message says what was found; Fix, for a conflict, what to do.
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// OK reports whether the hostname can go live as it is.
func (r Result) OK() bool { return r.Status != StatusConflict }

// Preflight checks every hostname: the token first, then each name's zone,
// records and external-dns ownership records (prefix is the registry's
// txtPrefix, "k8s." in these repositories). Token and permission problems
// are errors (*TokenError); what the records say is in the results.
func Preflight(ctx context.Context, c *Client, prefix string, checks []Check) ([]Result, error) {
	if err := c.VerifyToken(ctx); err != nil {
		return nil, err
	}
	var out []Result
	for _, ch := range checks {
		res, err := checkOne(ctx, c, prefix, ch)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

func checkOne(ctx context.Context, c *Client, prefix string, ch Check) (Result, error) {
	host := strings.TrimSuffix(strings.ToLower(ch.Host), ".")
	target := strings.TrimSuffix(strings.ToLower(ch.Target), ".")
	zone, err := c.ZoneFor(ctx, host)
	if err != nil {
		return Result{}, err
	}
	if target == "" {
		// The tunnel's name on the zone.
		target = "external." + zone.Name
	}
	res := Result{Host: host, Zone: zone.Name, Target: target}
	records, err := c.Records(ctx, zone, host)
	if err != nil {
		return Result{}, err
	}
	res.Records = records
	// external-dns marks what it owns with a TXT record beside the name:
	// <prefix><name> in the old format, <prefix><type>-<name> in the new.
	for _, name := range []string{prefix + host, prefix + "cname-" + host, prefix + "a-" + host} {
		txt, err := c.Records(ctx, zone, name)
		if err != nil {
			return Result{}, err
		}
		for _, r := range txt {
			if r.Type == "TXT" && strings.Contains(r.Content, "heritage=external-dns") && res.Owner == "" {
				res.Owner = ownerOf(r.Content)
				if res.Owner == "" {
					res.Owner = "unknown"
				}
			}
		}
	}
	sort.Slice(res.Records, func(i, j int) bool {
		return res.Records[i].Type+res.Records[i].Content < res.Records[j].Type+res.Records[j].Content
	})
	classify(&res, prefix)
	return res, nil
}

// ownerOf reads external-dns/owner=<id> from an ownership record.
func ownerOf(content string) string {
	content = strings.Trim(content, `"`)
	for _, part := range strings.Split(content, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "external-dns/owner="); ok {
			return v
		}
	}
	return ""
}

func classify(r *Result, prefix string) {
	dashboard := fmt.Sprintf("Cloudflare dashboard > %s > DNS > Records", r.Zone)
	if len(r.Records) == 0 {
		r.Status = StatusFree
		r.Message = "no record yet; external-dns will create it"
		if r.Owner != "" {
			r.Message += fmt.Sprintf(" (a stale ownership record of owner %s is left; external-dns reuses it)", r.Owner)
		}
		return
	}
	var what []string
	for _, rec := range r.Records {
		what = append(what, rec.Type+" "+rec.Content)
	}
	points := strings.Join(what, ", ")
	if len(r.Records) == 1 && r.Records[0].Type == "CNAME" && strings.EqualFold(strings.TrimSuffix(r.Records[0].Content, "."), r.Target) && r.Owner != "" {
		r.Status = StatusOwned
		r.Message = fmt.Sprintf("CNAME %s, owned by external-dns (owner %s)", r.Target, r.Owner)
		return
	}
	r.Status = StatusConflict
	switch {
	case r.Owner == "":
		r.Message = fmt.Sprintf("%s, not owned by external-dns (no %s ownership TXT record): external-dns will not replace it, and the app stays unreachable (Cloudflare error 1033 / HTTP 530) for as long as it points there", points, prefix+r.Host)
		r.Fix = fmt.Sprintf("delete the record (%s > %s > Delete) and let external-dns create it", dashboard, r.Host)
	default:
		r.Message = fmt.Sprintf("%s, owned by external-dns owner %s, not pointing at %s", points, r.Owner, r.Target)
		r.Fix = fmt.Sprintf("another cluster or app publishes this name (owner %s): remove it there, or delete the record and its ownership TXT records in %s", r.Owner, dashboard)
	}
}
