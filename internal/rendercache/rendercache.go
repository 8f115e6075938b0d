// Package rendercache keeps the output of builds (Helm renders today,
// kustomize builds next) on disk, keyed by the content of everything the
// build read, so that a second run renders only what changed.
//
// A key is built from named parts (Key.Add): the kind of build and its
// version, then every input by content (a chart's digest, the values, the
// options, the files a kustomization reads). Two builds with the same key
// produce the same output, so an entry is never invalidated, only
// replaced or left to age; there are no timestamps to compare and no
// paths that could go stale. Entries carry a checksum and a damaged one
// reads as a miss.
//
//	<dir>/<kind>/<xx>/<key>   "gen-render-cache 1\n" <sha256 of payload> "\n" <payload>
package rendercache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

const magic = "gen-render-cache 1\n"

// Cache is a render cache rooted at a folder.
type Cache struct {
	dir string
	max int64
}

// DefaultDir is gen's render cache under the user's cache folder.
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache folder for the render cache: %w", err)
	}
	return filepath.Join(base, "gen", "render"), nil
}

// Open opens (creating it if needed) a render cache in dir. Entries larger
// than maxEntry bytes are neither written nor read (0: 64 MiB).
func Open(dir string, maxEntry int64) (*Cache, error) {
	if maxEntry <= 0 {
		maxEntry = 64 << 20
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening render cache %q: %w", dir, err)
	}
	return &Cache{dir: dir, max: maxEntry}, nil
}

// Key accumulates the inputs of one build.
type Key struct {
	kind string
	h    hash.Hash
	err  error
}

var kindPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// NewKey starts a key for a kind of build ("helm", "kustomize"). The kind
// names the cache's subfolder.
func NewKey(kind string) *Key {
	k := &Key{kind: kind, h: sha256.New()}
	if !kindPattern.MatchString(kind) {
		k.err = fmt.Errorf("render cache kind %q is not a simple name", kind)
	}
	k.Add("kind", []byte(kind))
	return k
}

// Add adds a named input. Names and values are length-prefixed, so no two
// different sequences of parts make the same key.
func (k *Key) Add(name string, value []byte) *Key {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(name)))
	k.h.Write(n[:])
	k.h.Write([]byte(name))
	binary.BigEndian.PutUint64(n[:], uint64(len(value)))
	k.h.Write(n[:])
	k.h.Write(value)
	return k
}

// AddString adds a named string input.
func (k *Key) AddString(name, value string) *Key { return k.Add(name, []byte(value)) }

// AddJSON adds a named input by its JSON encoding (maps encode with sorted
// keys, so equal values give equal keys).
func (k *Key) AddJSON(name string, v any) *Key {
	data, err := json.Marshal(v)
	if err != nil && k.err == nil {
		k.err = fmt.Errorf("render cache key part %s: %w", name, err)
	}
	return k.Add(name, data)
}

// Sum returns the finished key.
func (k *Key) Sum() (string, error) {
	if k.err != nil {
		return "", k.err
	}
	return k.kind + "/" + hex.EncodeToString(k.h.Sum(nil)), nil
}

func (c *Cache) path(key string) (string, error) {
	kind, sum, ok := cutKey(key)
	if !ok {
		return "", fmt.Errorf("malformed render cache key %q", key)
	}
	return filepath.Join(c.dir, kind, sum[:2], sum), nil
}

func cutKey(key string) (kind, sum string, ok bool) {
	i := bytes.LastIndexByte([]byte(key), '/')
	if i <= 0 {
		return "", "", false
	}
	kind, sum = key[:i], key[i+1:]
	if !kindPattern.MatchString(kind) || len(sum) != 64 {
		return "", "", false
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", "", false
	}
	return kind, sum, true
}

// Get returns the entry stored under key.
func (c *Cache) Get(key string) ([]byte, bool) {
	p, err := c.path(key)
	if err != nil {
		return nil, false
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, c.max+int64(len(magic))+66))
	if err != nil || !bytes.HasPrefix(data, []byte(magic)) {
		return nil, false
	}
	rest := data[len(magic):]
	if len(rest) < 65 || rest[64] != '\n' {
		return nil, false
	}
	payload := rest[65:]
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != string(rest[:64]) {
		_ = os.Remove(p)
		return nil, false
	}
	return payload, true
}

// Put stores data under key. An entry over the size limit is not stored.
func (c *Cache) Put(key string, data []byte) error {
	if int64(len(data)) > c.max {
		return nil
	}
	p, err := c.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	var buf bytes.Buffer
	buf.WriteString(magic)
	buf.WriteString(hex.EncodeToString(sum[:]))
	buf.WriteByte('\n')
	buf.Write(data)
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, werr := tmp.Write(buf.Bytes())
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, p); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

// Len counts the entries of a kind (for tests and reports).
func (c *Cache) Len(kind string) int {
	n := 0
	_ = filepath.WalkDir(filepath.Join(c.dir, kind), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && filepath.Base(p)[0] != '.' {
			n++
		}
		return nil
	})
	return n
}
