// Package chartcache is the on-disk store of what gen fetched for Helm:
// chart packages, OCI manifests, chart repository indexes and schema
// documents, each kept once under its SHA-256 digest, and small records
// answering the questions asked of the network (which digest a tag names,
// which archive a chart URL served, which tags a repository has).
//
// The layout is stable so that CI can restore it between runs (for example
// with actions/cache keyed on the repository's HelmRelease and source
// files):
//
//	<dir>/blobs/sha256/<hex>          content, verified against <hex> on every read
//	<dir>/records/<xx>/<sha256(key)>  {"key": ..., "value": ...}
//
// Writes go to a temporary file beside their target and are renamed into
// place, so concurrent runs sharing a cache never see half a file. A blob
// whose content does not match its name is removed and reported missing.
package chartcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrMissing means the cache does not hold what was asked.
var ErrMissing = errors.New("not in the chart cache")

// Cache is a chart cache rooted at a folder.
type Cache struct {
	dir string
}

// DefaultDir is gen's chart cache under the user's cache folder
// ($XDG_CACHE_HOME/gen/charts, ~/Library/Caches/gen/charts, ...).
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache folder for the chart cache (set --chart-cache): %w", err)
	}
	return filepath.Join(base, "gen", "charts"), nil
}

// Open opens (creating it if needed) the cache in dir.
func Open(dir string) (*Cache, error) {
	for _, sub := range []string{filepath.Join("blobs", "sha256"), "records"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("opening chart cache %q: %w", dir, err)
		}
	}
	return &Cache{dir: dir}, nil
}

// Dir is the cache's folder.
func (c *Cache) Dir() string { return c.dir }

// Digest is data's digest in the form the cache names it: "sha256:<hex>".
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (c *Cache) blobPath(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 {
		return "", fmt.Errorf("unsupported digest %q (want sha256:<64 hex digits>)", digest)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", fmt.Errorf("unsupported digest %q: %w", digest, err)
	}
	return filepath.Join(c.dir, "blobs", "sha256", strings.ToLower(hexPart)), nil
}

// Put stores data and returns its digest.
func (c *Cache) Put(data []byte) (string, error) {
	d := Digest(data)
	p, err := c.blobPath(d)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(p); err == nil && st.Size() == int64(len(data)) {
		return d, nil
	}
	return d, writeAtomic(p, data)
}

// Get returns the content stored under digest, verified, if it is no
// larger than max bytes.
func (c *Cache) Get(digest string, max int64) ([]byte, error) {
	p, err := c.blobPath(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrMissing
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("cached %s is larger than %d bytes", digest, max)
	}
	if Digest(data) != strings.ToLower(digest) {
		// Damaged or tampered with: forget it, fetch again.
		_ = os.Remove(p)
		return nil, ErrMissing
	}
	return data, nil
}

// Has says whether the cache holds digest (without verifying it).
func (c *Cache) Has(digest string) bool {
	p, err := c.blobPath(digest)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

type record struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func (c *Cache) recordPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, "records", h[:2], h)
}

// PutRecord stores value (JSON-encoded) under key.
func (c *Cache) PutRecord(key string, value any) error {
	v, err := json.Marshal(value)
	if err != nil {
		return err
	}
	data, err := json.Marshal(record{Key: key, Value: v})
	if err != nil {
		return err
	}
	p := c.recordPath(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeAtomic(p, data)
}

// Record reads the value stored under key into value; ok is false when
// there is none.
func (c *Cache) Record(key string, value any) (ok bool, err error) {
	data, err := os.ReadFile(c.recordPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil || r.Key != key {
		// A damaged record is as good as none.
		return false, nil
	}
	if err := json.NewDecoder(bytes.NewReader(r.Value)).Decode(value); err != nil {
		return false, nil
	}
	return true, nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
