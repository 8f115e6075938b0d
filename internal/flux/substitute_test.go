package flux

import (
	"encoding/json"
	"testing"
)

// tricky holds values whose types and spelling the controller's YAML and
// JSON round trip can change.
const tricky = `apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
  annotations:
    html: "<b>&amp;</b>"
data:
  dollars: "$$HOME and ${PLAIN} and ${MISSING:=fallback} and ${PLAIN/./-}"
  on: "on"
  yes: yes
  number-string: "0x1F"
  unicode: "héllo ✓"
  multi: |
    line one ${PLAIN}
    line two
other:
  big: 1234567890123456789
  bigger: 18446744073709551615
  float: 1.0
  exp: 1e6
  huge: 1.5e300
  tiny: 0.000001
  neg: -0
  octal: 0o17
  nothing: null
  empty-map: {}
  empty-list: []
  on: true
  "y": n
`

// TestSubstituteMatchesFlux runs gen's substitution and the controller's
// own function on every object of the test repositories (and on one with
// tricky values), with and without variables, and compares the results.
func TestSubstituteMatchesFlux(t *testing.T) {
	small := repo(map[string]string{
		"kubernetes/apps/default/echo/app/tricky.yaml":        tricky,
		"kubernetes/apps/default/echo/app/kustomization.yaml": "resources:\n  - ./httproute.yaml\n  - ./tricky.yaml\n",
	})
	for name, files := range map[string]Files{"small": small, "anton": antonFiles(t)} {
		t.Run(name, func(t *testing.T) {
			all, err := Discover(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			snap := newSnapshot(files)
			compared := 0
			for _, ks := range all {
				if ks.External {
					continue
				}
				b, err := build(snap, ks)
				if err != nil {
					t.Fatal(err)
				}
				for _, vars := range []map[string]string{
					{"PLAIN": "value.with.dots", "SECRET_DOMAIN": "example.org"},
					{"PLAIN": "x"},
				} {
					p := postProcess{ks: ks, keepOrigin: b.keepOrigin, vars: vars, substituteWith: substituteObject(vars)}
					for _, res := range b.resources {
						m, err := resourceObject(res)
						if err != nil {
							t.Fatal(err)
						}
						if !p.keepOrigin {
							dropMapAnnotation(m, originAnnotation)
						}
						enc := markMapDecrypted(m, res.GetKind())
						got, gerr := p.substitute(res, m, enc)
						want, werr := p.substituteFlux(res)
						if (gerr == nil) != (werr == nil) {
							t.Fatalf("%s %s: error %v, the controller's %v", ks, resObjectID(res), gerr, werr)
						}
						a, _ := json.Marshal(got)
						c, _ := json.Marshal(want)
						if string(a) != string(c) {
							t.Errorf("%s %s:\n got %s\nwant %s", ks, resObjectID(res), a, c)
						}
						compared++
					}
				}
			}
			if compared < 10 {
				t.Errorf("only %d objects compared", compared)
			}
		})
	}
}
