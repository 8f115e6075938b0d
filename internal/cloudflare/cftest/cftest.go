// Package cftest runs a Cloudflare API stand-in on loopback for tests. It
// speaks the v4 response envelope ({"success", "errors", "messages",
// "result", "result_info"}) for the calls gen makes: token verification,
// zone lookup by name and DNS record listing with exact-name filters and
// page-based pagination; it can answer with rate limits, server errors and
// permission errors the way the API does.
package cftest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Record is a DNS record the server holds.
type Record struct {
	ID, Type, Name, Content string
	Proxied                 bool
}

// Zone is a zone the server holds.
type Zone struct {
	ID, Name string
	Records  []Record
	// DNSForbidden makes record listings of the zone answer 403, as for a
	// token without Zone > DNS > Read on it.
	DNSForbidden bool
}

// Server is the stand-in. Set its fields before the first request.
type Server struct {
	// URL is the API base URL (…/client/v4/).
	URL string
	// Token is the only bearer token accepted.
	Token string
	// TokenStatus is what verification reports ("active" by default).
	TokenStatus string
	// ZoneReadForbidden makes zone lookups answer 403.
	ZoneReadForbidden bool
	Zones             []Zone
	// RateLimited answers this many requests (from the start) with 429
	// and Retry-After: 0; Failing answers the next ones with 502.
	RateLimited int
	Failing     int
	// PerPageMax caps per_page, to force pagination.
	PerPageMax int
	// Delay holds every response this long (to test cancellation).
	Delay time.Duration

	mu       sync.Mutex
	requests []string
}

// New starts a server holding zones that accepts token.
func New(t testing.TB, token string, zones ...Zone) *Server {
	s := &Server{Token: token, TokenStatus: "active", Zones: zones}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/client/v4/"
	return s
}

// Requests returns the paths and queries received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func write(w http.ResponseWriter, status int, result any, info map[string]int, errs ...apiError) {
	env := map[string]any{"success": status < 400, "errors": errs, "messages": []any{}, "result": result}
	if errs == nil {
		env["errors"] = []apiError{}
	}
	if info != nil {
		env["result_info"] = info
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, r.URL.Path+"?"+r.URL.RawQuery)
	s.mu.Unlock()
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case n < s.RateLimited:
		w.Header().Set("Retry-After", "0")
		write(w, http.StatusTooManyRequests, nil, nil, apiError{971, "Please wait and consider throttling your request speed"})
		return
	case n < s.RateLimited+s.Failing:
		write(w, http.StatusBadGateway, nil, nil, apiError{10000, "bad gateway"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		write(w, http.StatusUnauthorized, nil, nil, apiError{1000, "Invalid API Token"})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/client/v4/")
	q := r.URL.Query()
	switch {
	case path == "user/tokens/verify":
		write(w, http.StatusOK, map[string]any{"id": "token-id", "status": s.TokenStatus, "expires_on": "2026-01-01T00:00:00Z"}, nil)
	case path == "zones":
		if s.ZoneReadForbidden {
			write(w, http.StatusForbidden, nil, nil, apiError{9109, "Unauthorized to access requested resource"})
			return
		}
		var out []map[string]any
		for _, z := range s.Zones {
			if name := q.Get("name"); name == "" || strings.EqualFold(name, z.Name) {
				out = append(out, map[string]any{"id": z.ID, "name": z.Name, "status": "active"})
			}
		}
		s.page(w, q, out)
	case strings.HasPrefix(path, "zones/") && strings.HasSuffix(path, "/dns_records"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "zones/"), "/dns_records")
		for _, z := range s.Zones {
			if z.ID != id {
				continue
			}
			if z.DNSForbidden {
				write(w, http.StatusForbidden, nil, nil, apiError{10000, "Authentication error"})
				return
			}
			var out []map[string]any
			for _, rec := range z.Records {
				if exact := q.Get("name.exact"); exact != "" && !strings.EqualFold(exact, rec.Name) {
					continue
				}
				out = append(out, map[string]any{"id": rec.ID, "type": rec.Type, "name": rec.Name, "content": rec.Content, "proxied": rec.Proxied, "ttl": 1})
			}
			s.page(w, q, out)
			return
		}
		write(w, http.StatusNotFound, nil, nil, apiError{7003, "Could not route to /zones/" + id + "/dns_records, perhaps your object identifier is invalid?"})
	default:
		write(w, http.StatusNotFound, nil, nil, apiError{7000, "No route for that URI"})
	}
}

// page writes one page of items with result_info as the API does.
func (s *Server) page(w http.ResponseWriter, q map[string][]string, items []map[string]any) {
	get := func(k string, def int) int {
		if v, ok := q[k]; ok && len(v) > 0 {
			if n, err := strconv.Atoi(v[0]); err == nil && n > 0 {
				return n
			}
		}
		return def
	}
	page, per := get("page", 1), get("per_page", 20)
	if s.PerPageMax > 0 && per > s.PerPageMax {
		per = s.PerPageMax
	}
	total := len(items)
	pages := (total + per - 1) / per
	from, to := (page-1)*per, page*per
	if from > total {
		from = total
	}
	if to > total {
		to = total
	}
	result := items[from:to]
	if result == nil {
		result = []map[string]any{}
	}
	write(w, http.StatusOK, result, map[string]int{"page": page, "per_page": per, "count": len(result), "total_count": total, "total_pages": pages})
}
