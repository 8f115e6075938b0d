package diff

import (
	"testing"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/testutil"
)

// TestReadGeneratorFilesFromGit: reading a commit keeps the plain files
// below a folder with a kustomization (configMapGenerator sources under
// apps/, outside kubernetes/), as check.ReadDir does on disk, and leaves
// other plain files out; ReadPair reads the same.
func TestReadGeneratorFilesFromGit(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	r.write("apps/web/app/kustomization.yaml", "configMapGenerator:\n  - name: web\n    files: [files/nginx.conf]\n")
	r.write("apps/web/app/files/nginx.conf", "server {}\n")
	r.write("docs/logo.png", "png")
	r.commit("generator files")
	r.edit("apps/web/app/files/nginx.conf", "server {}", "server { listen 80; }")
	r.commit("edit")
	repo, err := Open(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	base, err := repo.Resolve("HEAD~1")
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := repo.Read(head, check.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if string(snap.Files["apps/web/app/files/nginx.conf"]) != "server { listen 80; }\n" {
		t.Errorf("the generator's file was not read: %q", snap.Files["apps/web/app/files/nginx.conf"])
	}
	if _, ok := snap.Files["docs/logo.png"]; ok {
		t.Error("a plain file outside any kustomization folder was read")
	}
	pb, ph, err := repo.ReadPair(base, head, check.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if string(pb.Files["apps/web/app/files/nginx.conf"]) != "server {}\n" || string(ph.Files["apps/web/app/files/nginx.conf"]) != "server { listen 80; }\n" {
		t.Error("ReadPair does not read the generator's file on both sides")
	}
}
