package chartcache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBlobsAreVerified(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Put([]byte("chart bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if d != Digest([]byte("chart bytes")) || !c.Has(d) {
		t.Fatalf("digest %s", d)
	}
	got, err := c.Get(d, 1<<20)
	if err != nil || string(got) != "chart bytes" {
		t.Fatalf("get: %q %v", got, err)
	}
	if _, err := c.Get(d, 4); err == nil {
		t.Error("a blob over the caller's limit was returned")
	}
	p := filepath.Join(c.Dir(), "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(d, 1<<20); !errors.Is(err, ErrMissing) {
		t.Fatalf("a tampered blob: %v", err)
	}
	if c.Has(d) {
		t.Error("a tampered blob was kept")
	}
	if _, err := c.Get("sha256:../../etc/passwd", 10); err == nil || errors.Is(err, ErrMissing) {
		t.Errorf("a malformed digest: %v", err)
	}
}

func TestRecords(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PutRecord("oci-tag ghcr.io/x:1.0.0", "sha256:abc"); err != nil {
		t.Fatal(err)
	}
	// Another process (a later run) sees it.
	c2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if ok, err := c2.Record("oci-tag ghcr.io/x:1.0.0", &v); !ok || err != nil || v != "sha256:abc" {
		t.Fatalf("record: %v %v %q", ok, err, v)
	}
	if ok, _ := c2.Record("oci-tag ghcr.io/x:2.0.0", &v); ok {
		t.Error("a record that was never written")
	}
}
