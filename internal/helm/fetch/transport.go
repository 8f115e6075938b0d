package fetch

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// door is the transport of every request gen makes for Helm. It is built
// here, with its own dialer, so it neither depends on nor is affected by
// http.DefaultTransport (which may be replaced by a process-wide guard):
//
//   - a request to a host the Policy does not allow is refused before any
//     connection, and the dialer checks the address again;
//   - a request carrying one of the Credentials to any host but the one
//     they name is refused, and credentials never go over plain HTTP
//     except to loopback;
//   - proxies from the environment are not used (a proxy would see the
//     credentials and could answer for any host);
//   - every response body is cut at a budget.
type door struct {
	policy  Policy
	creds   *Credentials
	maxBody int64
	base    *http.Transport
}

func newDoor(p Policy, creds *Credentials, maxBody int64) *door {
	d := &door{policy: p, creds: creds, maxBody: maxBody}
	dialer := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	d.base = &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !p.allowsAddr(addr) {
				return nil, &HostError{Host: addr}
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	return d
}

// CredentialError is a request that would have sent credentials where
// they do not belong.
type CredentialError struct {
	Owner, Host string
	Insecure    bool
}

func (e *CredentialError) Error() string {
	if e.Insecure {
		return fmt.Sprintf("refusing to send the credentials for %s over plain HTTP", e.Owner)
	}
	return fmt.Sprintf("refusing to send the credentials for %s to %s", e.Owner, e.Host)
}

func (d *door) RoundTrip(req *http.Request) (*http.Response, error) {
	if !d.policy.Allows(req.URL) {
		closeBody(req)
		return nil, &HostError{Host: req.URL.Host}
	}
	if owner, ok := d.creds.owner(req.Header.Get("Authorization")); ok {
		if !sameHost(owner, req.URL.Host, req.URL.Scheme) {
			closeBody(req)
			return nil, &CredentialError{Owner: owner, Host: req.URL.Host}
		}
		if req.URL.Scheme != "https" && !isLoopback(req.URL.Hostname()) {
			closeBody(req)
			return nil, &CredentialError{Owner: owner, Host: req.URL.Host, Insecure: true}
		}
	}
	resp, err := d.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: d.maxBody, limit: d.maxBody}
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// SizeError is a response or file larger than its budget.
type SizeError struct {
	What  string
	Limit int64
}

func (e *SizeError) Error() string {
	if e.What == "" {
		return fmt.Sprintf("response is over the %d-byte budget", e.Limit)
	}
	return fmt.Sprintf("%s is over the %d-byte budget", e.What, e.Limit)
}

// cappedBody ends a response body with a SizeError at its budget instead
// of reading on.
type cappedBody struct {
	io.ReadCloser
	left, limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a body exactly at the limit from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, &SizeError{Limit: b.limit}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// readCapped reads r to its end within max bytes.
func readCapped(r io.Reader, max int64, what string) ([]byte, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	var se *SizeError
	if errors.As(err, &se) || n > max {
		return nil, &SizeError{What: what, Limit: max}
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
