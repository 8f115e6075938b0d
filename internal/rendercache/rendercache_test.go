package rendercache

import (
	"os"
	"path/filepath"
	"testing"
)

func key(t *testing.T, k *Key) string {
	t.Helper()
	s, err := k.Sum()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeys(t *testing.T) {
	a := key(t, NewKey("helm").AddString("chart", "sha256:1").AddJSON("values", map[string]any{"b": 1, "a": 2}))
	b := key(t, NewKey("helm").AddString("chart", "sha256:1").AddJSON("values", map[string]any{"a": 2, "b": 1}))
	if a != b {
		t.Error("equal inputs gave different keys")
	}
	// Length prefixes keep part boundaries apart.
	c := key(t, NewKey("helm").AddString("ab", "c"))
	d := key(t, NewKey("helm").AddString("a", "bc"))
	if c == d {
		t.Error("different parts gave the same key")
	}
	if key(t, NewKey("kustomize").AddString("chart", "sha256:1")) == key(t, NewKey("helm").AddString("chart", "sha256:1")) {
		t.Error("kinds share keys")
	}
	if _, err := NewKey("../x").Sum(); err == nil {
		t.Error("a kind that is a path was accepted")
	}
}

func TestEntries(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, NewKey("helm").AddString("x", "1"))
	if _, ok := c.Get(k); ok {
		t.Fatal("hit in an empty cache")
	}
	if err := c.Put(k, []byte("rendered")); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get(k)
	if !ok || string(got) != "rendered" {
		t.Fatalf("get: %q %v", got, ok)
	}
	if c.Len("helm") != 1 {
		t.Errorf("len = %d", c.Len("helm"))
	}
	// Damage reads as a miss.
	_, sum, _ := cutKey(k)
	p := filepath.Join(dir, "helm", sum[:2], sum)
	data, _ := os.ReadFile(p)
	data[len(data)-1] ^= 1
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(k); ok {
		t.Error("a damaged entry was returned")
	}
	// An entry over the limit is not kept.
	big := key(t, NewKey("helm").AddString("x", "2"))
	if err := c.Put(big, make([]byte, 2048)); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(big); ok {
		t.Error("an entry over the limit was stored")
	}
	if _, ok := c.Get("helm/../../etc"); ok {
		t.Error("a malformed key was read")
	}
}
