package chartfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/helm/helmtest"
)

func TestScanFindsSchemasOfSubcharts(t *testing.T) {
	sub := helmtest.SimpleChart("packed", "0.2.0")
	sub["values.schema.json"] = `{"type": "object", "title": "packed"}`
	files := helmtest.SimpleChart("top", "1.0.0")
	files["values.schema.json"] = `{"type": "object", "title": "top"}`
	files["charts/packed-0.2.0.tgz"] = string(helmtest.Package("packed", sub))
	files["charts/folder/Chart.yaml"] = helmtest.ChartYAML("folder", "0.1.0")
	files["charts/folder/values.schema.json"] = `{"title": "folder"}`
	files["templates/values.schema.json"] = `{"title": "not a chart's schema"}`

	sum, err := Scan(helmtest.Package("top", files), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range sum.Charts {
		got = append(got, c.Path+"="+c.Name+"@"+c.Version+":"+string(c.Schema))
	}
	want := []string{
		`=top@1.0.0:{"type": "object", "title": "top"}`,
		`charts/folder=folder@0.1.0:{"title": "folder"}`,
		`charts/packed-0.2.0.tgz=packed@0.2.0:{"type": "object", "title": "packed"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("charts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum.Files != len(files)+len(sub) {
		t.Errorf("counted %d files, want %d", sum.Files, len(files)+len(sub))
	}
}

func TestScanBudgets(t *testing.T) {
	many := helmtest.SimpleChart("many", "1.0.0")
	for i := 0; i < 50; i++ {
		many[strings.Repeat("x", i+1)+".txt"] = "x"
	}
	big := helmtest.SimpleChart("big", "1.0.0")
	big["big.txt"] = strings.Repeat("a", 4096)
	nested := helmtest.Package("n0", helmtest.SimpleChart("n0", "1.0.0"))
	for i := 1; i < 4; i++ {
		f := helmtest.SimpleChart("n", "1.0.0")
		f["charts/inner.tgz"] = string(nested)
		nested = helmtest.Package("n", f)
	}
	tests := []struct {
		name    string
		archive []byte
		limits  Limits
		budget  string
	}{
		{"files", helmtest.Package("many", many), Limits{Files: 20}, "files"},
		{"file bytes", helmtest.Package("big", big), Limits{FileBytes: 1024}, "file bytes"},
		{"bytes", helmtest.Package("big", big), Limits{Bytes: 2048}, "bytes"},
		{"archive bytes", helmtest.Package("big", big), Limits{ArchiveBytes: 100}, "archive bytes"},
		{"depth", nested, Limits{Depth: 2}, "depth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Scan(tc.archive, tc.limits)
			var be *BudgetError
			if !errors.As(err, &be) || be.Budget != tc.budget {
				t.Fatalf("want the %s budget, got %v", tc.budget, err)
			}
		})
	}
	if _, err := Scan(nested, Limits{Depth: 3}); err != nil {
		t.Errorf("within depth: %v", err)
	}
}

// A gzip stream that expands far beyond its size is stopped at the byte
// budget without being held.
func TestScanDecompressionBomb(t *testing.T) {
	files := helmtest.SimpleChart("bomb", "1.0.0")
	files["zeros.txt"] = strings.Repeat("\x00", 8<<20)
	archive := helmtest.Package("bomb", files)
	if len(archive) > 64<<10 {
		t.Fatalf("fixture is not a bomb: %d bytes", len(archive))
	}
	_, err := Scan(archive, Limits{FileBytes: 1 << 20})
	var be *BudgetError
	if !errors.As(err, &be) || be.Budget != "file bytes" {
		t.Fatalf("got %v", err)
	}
}

func TestScanRefusesEscapes(t *testing.T) {
	for _, name := range []string{"/etc/passwd", "../../evil"} {
		archive := rawArchive(t, map[string]string{"top/Chart.yaml": helmtest.ChartYAML("top", "1.0.0"), "top/" + name: "x"})
		if _, err := Scan(archive, Limits{}); err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
