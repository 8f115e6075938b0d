package flux

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/envsubst"
	"github.com/fluxcd/pkg/envsubst/parse"
	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/redact"
)

const (
	// originAnnotation is where kustomize records the file an object came
	// from when build metadata "originAnnotations" is on.
	originAnnotation = "config.kubernetes.io/origin"
	// substituteAnnotation, set to "disabled" as a label or annotation,
	// turns off postBuild substitution for one object.
	substituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"
	// decryptAnnotation, set to "disabled", tells the controller to apply an
	// encrypted Secret as it is.
	decryptAnnotation = "kustomize.toolkit.fluxcd.io/decrypt"
)

// RenderOptions tells Render what it cannot read from the repository.
type RenderOptions struct {
	// Vars holds known values of variables whose sources are not readable
	// in the repository, e.g. decrypted keys of cluster-secrets.
	Vars map[string]string
	// Names lists variables known to exist whose values are not known, e.g.
	// the key names of a SOPS-encrypted cluster-secrets (SOPS leaves keys
	// readable). They are substituted with Placeholder(name).
	Names []string
	// HideSecretValues substitutes Placeholder(name) (or Vars) for the
	// values of Secrets that the repository keeps readable, so that no
	// Secret value reaches an output through substitution.
	HideSecretValues bool
}

// Rendered is the output of one Kustomization's build.
type Rendered struct {
	Kustomization *Kustomization
	// Objects are the built objects in kustomize's output order.
	Objects []*Object
	// Findings are problems that did not stop the build.
	Findings []Finding

	inputs *inputs
	// unresolved lists the substituteFrom sources not found when rendering.
	unresolved []SubstituteRef
	// readBytes is what the build read; work is built.work.
	readBytes int64
	work      int64
}

// Cost returns what the build took: the bytes of the files it read, and
// its work, the square of the YAML documents each kustomize run read
// (kustomize's time grows so: every object it adds is checked against all
// the others). Memory grows with the first, time with the second.
func (r *Rendered) Cost() (bytes, work int64) {
	return r.readBytes, r.work
}

// Object is one object of a build.
type Object struct {
	// Unstructured is the object as the controller would apply it, as far
	// as it can be known without keys: SOPS metadata is removed from
	// encrypted objects (see Encrypted).
	Unstructured *unstructured.Unstructured
	// Origin is the repository file the object came from, when kustomize
	// tracked it; "" for objects made by generators or of unknown origin.
	Origin string
	// Encrypted is true for an object that was SOPS-encrypted in the
	// repository. Its values are still the ENC[...] ciphertexts; those under
	// a Secret's data are base64-encoded so that the object decodes.
	Encrypted bool

	yamlOnce sync.Once
	yaml     []byte
}

// YAML returns Unstructured rendered as YAML, made on the first call.
func (o *Object) YAML() []byte {
	o.yamlOnce.Do(func() {
		doc, err := yaml.Marshal(o.Unstructured.Object)
		if err != nil {
			doc = []byte(fmt.Sprintf("# %s: %v\n", o.ID(), err))
		}
		o.yaml = doc
	})
	return o.yaml
}

// ID returns "Kind namespace/name" (or "Kind name" when cluster-scoped).
func (o *Object) ID() string {
	return objectID(o.Unstructured)
}

func objectID(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + " " + ns + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}

// Severity grades a Finding.
type Severity string

const (
	// SeverityError marks something the controller would fail on, or a
	// result that is certainly wrong.
	SeverityError Severity = "error"
	// SeverityWarning marks something that may be wrong.
	SeverityWarning Severity = "warning"
)

// Codes of findings.
const (
	// FindingUndefinedVar: a ${VAR} without a default that nothing defines.
	FindingUndefinedVar = "undefined-var"
	// FindingNoDecryption: an encrypted object in a Kustomization without
	// spec.decryption.
	FindingNoDecryption = "no-decryption"
	// FindingMissingSource: a postBuild.substituteFrom source the
	// repository does not render.
	FindingMissingSource = "missing-source"
)

// Finding is a problem found while rendering that did not stop the build.
type Finding struct {
	Severity Severity
	// Code says what kind of problem it is, for callers that act on some
	// kinds: one of the Finding* constants.
	Code string
	// Var is the variable an undefined-variable finding is about.
	Var string
	// Source is the name of the ConfigMap or Secret a missing-source
	// finding is about.
	Source string
	// Kustomization is the Flux Kustomization being rendered.
	Kustomization NamespacedName
	// File is the repository file the problem is in, when known.
	File string
	// Object is the affected object ("Kind namespace/name"), when there is one.
	Object  string
	Message string
}

// String formats the finding on one line.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(string(f.Severity))
	b.WriteString(": ")
	if f.File != "" {
		b.WriteString(f.File)
		b.WriteString(": ")
	}
	if f.Object != "" {
		b.WriteString(f.Object)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	b.WriteString(" (Kustomization ")
	b.WriteString(f.Kustomization.String())
	b.WriteString(")")
	return b.String()
}

// Placeholder is the value Render substitutes for a variable that is known
// to exist but whose value is unknown: "var-" and the name in lower case with
// underscores as dashes, e.g. "var-secret-domain" for SECRET_DOMAIN. It is a
// valid DNS label for names up to 59 characters, so hostnames built from it
// still validate. A variable used where a number or boolean is expected gets
// a string all the same.
func Placeholder(name string) string {
	return "var-" + strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// Render builds one Kustomization the way kustomize-controller does, from the
// snapshot alone:
//
//  1. The kustomization of ks.Path is taken, or generated when the folder has
//     none (every YAML manifest below it, sub-folders with their own
//     kustomization as a unit), and the Flux Kustomization's targetNamespace,
//     namePrefix, nameSuffix, patches, components, images and buildMetadata
//     are merged into it.
//  2. It is built with github.com/fluxcd/pkg/kustomize's Build: builtin
//     plugins only, no remote bases, load restrictions off (files outside the
//     folder but inside the repository may be used).
//  3. Objects with SOPS metadata are marked Encrypted (values are not
//     decrypted); an encrypted object in a Kustomization without
//     spec.decryption is an error finding, as the controller refuses it.
//  4. When spec.postBuild is set, variables are substituted with Flux's own
//     substitution code. Their values come from spec.postBuild.substitute and,
//     for spec.postBuild.substituteFrom, from the referenced ConfigMaps and
//     Secrets found among the objects the repository renders (Kustomizations
//     returned by Discover know those): ConfigMap and plain Secret values are
//     used as they are; an encrypted Secret's keys are known but not its
//     values, which come from opts.Vars or else are Placeholder(name).
//     opts.Vars and opts.Names stand in for substituteFrom sources that are
//     not in the repository. A ${VAR} without a default that is defined by
//     none of these is an error finding; like the controller (in its
//     default, non-strict mode) Render then substitutes "".
//  5. spec.commonMetadata labels and annotations are set on every object.
//
// Not reproduced: decryption, the controller's defaulting of native kinds
// before apply, and the source-controller's artifact filters (.sourceignore
// and its default exclusions): the snapshot is taken to be the artifact.
//
// Render is safe for concurrent use. Builds run in parallel except one whose
// kustomization sets kustomize's global schema (openapi: or crds:), which
// runs alone and restores the built-in schema after itself. Code elsewhere
// in the process that uses kustomize's OpenAPI data concurrently with a
// Render can observe that reset.
//
// A build whose kustomization files refer to anything remote, to a path
// outside the repository, or to a Helm chart or KRM function to run, is
// refused with an *UnsafeError before kustomize starts.
func Render(files Files, ks *Kustomization, opts RenderOptions) (*Rendered, error) {
	r, _, err := render(newSnapshot(files), ks, opts)
	return r, err
}

// render is Render over a prepared snapshot, also returning the build it
// used.
func render(snap *snapshot, ks *Kustomization, opts RenderOptions) (*Rendered, *built, error) {
	if ks == nil {
		return nil, nil, fmt.Errorf("rendering: no Kustomization given")
	}
	if ks.External {
		return nil, nil, fmt.Errorf("rendering %s: its source %s is not this repository", ks, ks.SourceRef)
	}
	if ks.Object == nil {
		return nil, nil, fmt.Errorf("rendering %s: it has no object", ks)
	}
	spec, err := ks.Spec()
	if err != nil {
		return nil, nil, err
	}

	b := ks.disc.cachedBuild(snap, ks)
	if b == nil {
		if b, err = build(snap, ks); err != nil {
			return nil, nil, err
		}
	}

	out := &Rendered{Kustomization: ks, inputs: b.inputs, readBytes: b.inputs.size(snap.idx), work: b.work}
	vars := resolveVars(ks, spec.PostBuild != nil, opts, out)
	p := postProcess{
		ks:             ks,
		spec:           spec,
		keepOrigin:     b.keepOrigin,
		vars:           vars,
		always:         spec.PostBuild != nil && spec.PostBuild.SubstituteStrategy == "Always",
		substituteWith: substituteObject(vars),
	}
	// The build is not changed: a cached one is reused by later renders.
	for i, res := range b.resources {
		origin := ""
		if b.origins != nil {
			origin = b.origins[i]
		} else {
			origin = originOf(res, ks.Path)
		}
		o, findings, err := p.object(res, origin)
		if err != nil {
			return nil, nil, err
		}
		out.Findings = append(out.Findings, findings...)
		out.Objects = append(out.Objects, o)
	}
	return out, b, nil
}

// postProcess is what the controller does to each object of a build:
// decryption (here: marking), postBuild substitution and common metadata.
type postProcess struct {
	ks             *Kustomization
	spec           kustomizev1.KustomizationSpec
	keepOrigin     bool
	vars           map[string]string
	always         bool
	substituteWith unstructured.Unstructured
	// scalars remembers substituteScalar's answers: the same strings
	// (${SECRET_DOMAIN}, hostnames) recur across a render's objects.
	scalars map[string]scalarResult
}

// object post-processes one resource of the build into an Object, without
// changing res.
//
// The controller substitutes variables by writing each object out as YAML,
// running envsubst over the text and reading the result back through JSON.
// Text without a "$" passes envsubst unchanged, and the YAML and JSON round
// trip gives the same object back, except that integers beyond 2^53 lose
// precision on the way (the JSON step reads numbers as float64). So the round
// trip runs only for objects holding a "$" or such an integer; every other
// object is taken from the build as it is, which is most of the cost of a
// render saved and the same output.
func (p *postProcess) object(res *resource.Resource, origin string) (*Object, []Finding, error) {
	ks := p.ks
	if res.GetName() == "" || res.GetKind() == "" || res.GetApiVersion() == "" {
		return nil, nil, fmt.Errorf("rendering %s: failed to decode Kubernetes apiVersion, kind and name from: %s", ks, printable(res))
	}
	id := resObjectID(res)
	m, err := resourceObject(res)
	if err != nil {
		return nil, nil, fmt.Errorf("rendering %s: %s from %q: %w", ks, id, origin, err)
	}
	if !p.keepOrigin {
		dropMapAnnotation(m, originAnnotation)
	}
	encrypted := markMapDecrypted(m, res.GetKind())

	var findings []Finding
	if encrypted && p.spec.Decryption == nil && res.GetAnnotations()[decryptAnnotation] != "disabled" {
		findings = append(findings, Finding{
			Severity: SeverityError, Code: FindingNoDecryption, Kustomization: ks.ID(), File: origin, Object: id,
			Message: "object is SOPS-encrypted but the Kustomization has no spec.decryption; the controller refuses to apply it",
		})
	}

	if p.spec.PostBuild != nil && !substitutionDisabled(res) {
		scan := scanStrings(m)
		if scan.varRef {
			undefined, err := undefinedVars(m, p.vars)
			if err != nil {
				return nil, nil, fmt.Errorf("rendering %s: %s from %q: %w", ks, id, origin, err)
			}
			// With no variable at all the controller substitutes nothing.
			outcome, severity := "it is substituted with an empty string", SeverityError
			if len(p.vars) == 0 && !p.always {
				// Nothing breaks today; the first variable defined would
				// blank it.
				outcome, severity = "it is left as it is, since no variable is defined (defining one would substitute it with an empty string)", SeverityWarning
			}
			for _, name := range undefined {
				findings = append(findings, Finding{
					Severity: severity, Code: FindingUndefinedVar, Var: name, Kustomization: ks.ID(), File: origin, Object: id,
					Message: fmt.Sprintf("variable ${%s} is used but defined nowhere (postBuild.substitute, postBuild.substituteFrom or the known variables); %s", name, outcome),
				})
			}
		}
		if (len(p.vars) > 0 || p.always) && (scan.dollar || hasLargeInt(m)) {
			// A variable holding a large value, used many times, can make
			// one object of any size; the controller would try.
			if estimate := scan.bytes + scan.refs*p.longestVar(); estimate > MaxSubstitutedBytes {
				return nil, nil, fmt.Errorf("rendering %s: %s from %q: substituting its %d variable references could make it %d bytes, over the limit of %d",
					ks, id, origin, scan.refs, estimate, MaxSubstitutedBytes)
			}
			if m, err = p.substitute(res, m, encrypted); err != nil {
				return nil, nil, fmt.Errorf("rendering %s: post build failed for %s from %q: %w", ks, id, origin, err)
			}
		}
	}

	u := &unstructured.Unstructured{Object: m}
	if cm := p.spec.CommonMetadata; cm != nil {
		setCommonMetadata(u, cm.Labels, cm.Annotations)
	}
	return &Object{Unstructured: u, Origin: origin, Encrypted: encrypted}, findings, nil
}

// printable is res as YAML for a message, its Secret values hidden: a
// message reaches gen check's and gen diff's outputs.
func printable(res *resource.Resource) string {
	m, err := res.Map()
	if err != nil {
		return "(an object that does not read as a map)"
	}
	redact.Object(m, false)
	out, err := yaml.Marshal(m)
	if err != nil {
		return "(an object that does not print)"
	}
	return string(out)
}

// MaxSubstitutedBytes bounds what postBuild substitution may make of one
// object: a render that could exceed it fails instead.
const MaxSubstitutedBytes = 64 << 20

// longestVar returns the length of the longest variable value.
func (p *postProcess) longestVar() int {
	n := 0
	for _, v := range p.vars {
		n = max(n, len(v))
	}
	return n
}

// substitute does what the controller's substitution
// (github.com/fluxcd/pkg/kustomize.SubstituteVariables) does to res, whose
// prepared map (origin annotation dropped, decryption marked) is m, and
// returns the result. The controller writes the object out as YAML, runs
// envsubst over the text, converts the text to JSON and reads it back into
// the object through Go's JSON decoder (numbers as float64) and YAML nodes.
// The same text goes through envsubst here; the JSON is decoded once, with
// numbers converted as that round trip converts them (see plainJSON).
// substituteFlux runs the controller's function itself; a test compares
// the two on every object of the test repositories.
func (p *postProcess) substitute(res *resource.Resource, m map[string]any, encrypted bool) (map[string]any, error) {
	for name := range p.vars {
		if !varName.MatchString(name) {
			return nil, fmt.Errorf("envsubst error: '%s' var name is invalid, must match '%s'", name, varName)
		}
	}
	if !encrypted && !hasLargeInt(m) && p.substituteStrings(m) {
		return m, nil
	}
	var text []byte
	var err error
	if encrypted {
		// Marking decryption went through JSON on the controller's side;
		// take its path for the text.
		if res, err = p.asController(res); err != nil {
			return nil, err
		}
		text, err = res.AsYAML()
	} else {
		var j []byte
		if j, err = json.Marshal(m); err == nil {
			text, err = yaml.JSONToYAML(j)
		}
	}
	if err != nil {
		return nil, err
	}
	out, err := envsubst.Eval(string(text), p.lookup)
	if err != nil {
		return nil, fmt.Errorf("envsubst error: variable substitution failed: %w", err)
	}
	data, err := yaml.YAMLToJSON([]byte(out))
	if err != nil {
		return nil, fmt.Errorf("envsubst error: YAMLToJSON: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("UnmarshalJSON: %w", err)
	}
	v, err := plainJSON(obj)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return map[string]any{}, nil
	}
	return v.(map[string]any), nil
}

// substituteObject is what the controller's substitution function reads
// the variables from: a Kustomization holding them as
// spec.postBuild.substitute.
func substituteObject(vars map[string]string) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"postBuild": map[string]any{"substitute": toAnyMap(vars)}},
	}}
}

// varName is what the controller accepts as a variable name.
var varName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// asController returns a copy of res as the controller has it when it
// substitutes: without the origin annotation gen added, decryption marked.
func (p *postProcess) asController(res *resource.Resource) (*resource.Resource, error) {
	res = res.DeepCopy()
	if !p.keepOrigin {
		if err := dropAnnotation(res, originAnnotation); err != nil {
			return nil, err
		}
	}
	if _, err := markDecrypted(res); err != nil {
		return nil, err
	}
	return res, nil
}

// substituteFlux is substitute done by the controller's own function, for
// the test that shows they agree.
func (p *postProcess) substituteFlux(res *resource.Resource) (map[string]any, error) {
	res, err := p.asController(res)
	if err != nil {
		return nil, err
	}
	substituted, err := fluxkustomize.SubstituteVariables(context.Background(), nil, p.substituteWith, res,
		fluxkustomize.SubstituteWithDryRun(true), fluxkustomize.SubstituteWithAlways(p.always))
	if err != nil {
		return nil, err
	}
	if substituted != nil {
		res = substituted
	}
	u, err := toUnstructured(res)
	if err != nil {
		return nil, err
	}
	return u.Object, nil
}

// built is the output of a kustomize build before any post-processing. It
// is never changed after the build.
type built struct {
	// resources are the objects in kustomize's output order.
	resources []*resource.Resource
	// work is the sum over the kustomize runs of the build (one, or one
	// per part of a split build) of the square of the documents each read.
	work int64
	// keepOrigin is true when the kustomization asked for origin annotations.
	keepOrigin bool
	// inputs is what the build read.
	inputs *inputs
	// origins are the files of resources, found by matchOrigins for a
	// build made without origin annotations (nil: read the annotations).
	origins []string
}

// build generates the kustomization of ks's folder and runs kustomize,
// split by entry when that gives the same output (see split.go).
func build(snap *snapshot, ks *Kustomization) (*built, error) {
	return buildWith(snap, ks, true)
}

// buildWith is build, splitting only when split is set.
func buildWith(snap *snapshot, ks *Kustomization, split bool) (*built, error) {
	return buildOrigins(snap, ks, split, true)
}

// buildOrigins is buildWith; match false always takes the objects' files
// from kustomize's origin annotations.
func buildOrigins(snap *snapshot, ks *Kustomization, split, match bool) (*built, error) {
	fs := newMemFS(snap.idx)
	in := newInputs()
	rec := recordingFS{FileSystem: fs, in: in}
	dir := "/" + ks.Path
	if !rec.IsDir(dir) {
		return nil, fmt.Errorf("rendering %s: kustomization path not found: %q", ks, ks.Path)
	}

	gen, err := generateKustomization(rec, dir, ks.Object.Object)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", ks, err)
	}
	// Each object's file comes from matching it to the documents the build
	// read (see matchOrigins); where that is not certain, the build runs
	// again with kustomize's origin annotations, which are removed
	// afterwards unless the kustomization asked for them.
	keepOrigin := slices.Contains(gen.kus.BuildMetadata, "originAnnotations")
	if match && !keepOrigin && len(gen.kus.BuildMetadata) == 0 {
		b, err := buildKus(snap, ks, gen, gen.kus, fs, rec, dir, in, split)
		if err != nil {
			return nil, err
		}
		if origins, ok := matchOrigins(snap, in, b.resources, &gen.kus, gen.file); ok {
			b.origins = origins
			return b, nil
		}
		fs = newMemFS(snap.idx)
		rec = recordingFS{FileSystem: fs, in: in}
	}
	kus := gen.kus
	if !keepOrigin {
		kus.BuildMetadata = append(append([]string(nil), kus.BuildMetadata...), "originAnnotations")
	}
	return buildKus(snap, ks, gen, kus, fs, rec, dir, in, split)
}

// buildKus writes kus as the kustomization of ks's folder and runs
// kustomize on it.
func buildKus(snap *snapshot, ks *Kustomization, gen *generatedKustomization, kus kustypes.Kustomization, fs *memFS, rec recordingFS, dir string, in *inputs, split bool) (*built, error) {
	keepOrigin := slices.Contains(gen.kus.BuildMetadata, "originAnnotations")
	// Written as JSON, which kustomize reads as the YAML it is: the same
	// fields for a fraction of the cost of writing YAML.
	manifest, err := json.Marshal(kus)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", ks, err)
	}
	if err := fs.WriteFile(gen.file, manifest); err != nil {
		return nil, fmt.Errorf("rendering %s: writing %q: %w", ks, repoPath(gen.file), err)
	}
	// Nothing that kustomize would fetch, execute or read outside the
	// repository reaches it: such a build is refused before it starts.
	scan := scanRefs(rec, dir)
	if len(scan.problems) > 0 {
		return nil, fmt.Errorf("rendering %s: %w", ks, &UnsafeError{Problems: scan.problems})
	}

	if split && !scan.changesSchema && !scan.crossFolder && splittable(gen) {
		resources, work, err := buildParts(snap, gen, kus, dir, in)
		if err == nil {
			return &built{resources: resources, work: work, keepOrigin: keepOrigin, inputs: in}, nil
		}
		if !errors.Is(err, errNotSplit) {
			return nil, fmt.Errorf("rendering %s: kustomize build failed: %w", ks, err)
		}
	}
	before := in.documents()
	resMap, err := kustomizeBuild(rec, dir, scan.changesSchema)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: kustomize build failed: %w", ks, err)
	}
	d := int64(in.documents() - before)
	return &built{resources: resMap.Resources(), work: d * d, keepOrigin: keepOrigin, inputs: in}, nil
}

// toUnstructured converts res through JSON, so that numbers are int64 or
// float64 as the unstructured helpers expect.
func toUnstructured(res *resource.Resource) (*unstructured.Unstructured, error) {
	data, err := res.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := utiljson.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func resObjectID(res *resource.Resource) string {
	if ns := res.GetNamespace(); ns != "" {
		return res.GetKind() + " " + ns + "/" + res.GetName()
	}
	return res.GetKind() + " " + res.GetName()
}

// originOf returns the repository file res came from, read from kustomize's
// origin annotation (its path is relative to the build directory).
func originOf(res *resource.Resource, buildPath string) string {
	raw, ok := res.GetAnnotations()[originAnnotation]
	if !ok {
		return ""
	}
	var o resource.Origin
	if p, ok := plainOriginPath(raw); ok {
		o.Path = p
	} else if err := yaml.Unmarshal([]byte(raw), &o); err != nil || o.Repo != "" || o.Path == "" {
		return ""
	}
	p, ok := cleanRel(path.Join(buildPath, o.Path))
	if !ok {
		return ""
	}
	return p
}

// plainOriginPath reads the usual origin annotation, a single
// "path: <file>" line with the file name unquoted, without a YAML parser.
func plainOriginPath(raw string) (string, bool) {
	p, ok := strings.CutPrefix(raw, "path: ")
	if !ok {
		return "", false
	}
	p, ok = strings.CutSuffix(p, "\n")
	if !ok || p == "" || strings.ContainsAny(p, "\n\"'#:{}[]&*!|>%@`\\") || p != strings.TrimSpace(p) {
		return "", false
	}
	return p, true
}

func dropAnnotation(res *resource.Resource, key string) error {
	ann := res.GetAnnotations()
	if _, ok := ann[key]; !ok {
		return nil
	}
	delete(ann, key)
	return res.SetAnnotations(ann)
}

// markDecrypted stands in for the controller's decryption: an object with
// SOPS metadata loses it (decryption removes it), and ENC[...] values under
// a Secret's data are base64-encoded so that the object still decodes. It
// reports whether the object was encrypted.
func markDecrypted(res *resource.Resource) (bool, error) {
	m, err := res.Map()
	if err != nil {
		return false, err
	}
	sops, ok := m["sops"].(map[string]any)
	if !ok {
		return false, nil
	}
	if _, hasMAC := sops["mac"]; !hasMAC {
		return false, nil
	}
	delete(m, "sops")
	if res.GetKind() == "Secret" {
		if data, ok := m["data"].(map[string]any); ok {
			for k, v := range data {
				if s, ok := v.(string); ok && strings.HasPrefix(s, "ENC[") {
					data[k] = base64.StdEncoding.EncodeToString([]byte(s))
				}
			}
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return true, err
	}
	return true, res.UnmarshalJSON(b)
}

func substitutionDisabled(res *resource.Resource) bool {
	return res.GetLabels()[substituteAnnotation] == "disabled" || res.GetAnnotations()[substituteAnnotation] == "disabled"
}

// undefinedVars returns, sorted, the variables res uses without a default
// that vars does not define. Comments are not looked at.
func undefinedVars(m map[string]any, vars map[string]string) ([]string, error) {
	// Each string that holds a reference is a piece of the controller's
	// text; read alone, spelled as the text spells it, it names the same
	// variables, unless a "${" in it is closed only further on.
	missing := map[string]bool{}
	seen := map[string]bool{}
	whole := !eachString(m, func(s string, _ bool) bool {
		if seen[s] || !strings.Contains(s, "${") {
			return true
		}
		seen[s] = true
		text, err := yaml.Marshal(s)
		if err != nil || unclosedRef(text) {
			return false
		}
		tree, err := parse.Parse(string(text))
		if err != nil {
			return false
		}
		collectUndefined(tree.Root, vars, missing)
		return true
	})
	if !whole {
		return sortedKeys(missing), nil
	}
	return undefinedVarsInText(m, vars)
}

// undefinedVarsInText is undefinedVars read off the controller's whole
// text of the object.
func undefinedVarsInText(m map[string]any, vars map[string]string) ([]string, error) {
	doc, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(doc), "${") {
		return nil, nil
	}
	tree, err := parse.Parse(string(doc))
	if err != nil {
		return nil, fmt.Errorf("variable substitution failed: %w", err)
	}
	missing := map[string]bool{}
	collectUndefined(tree.Root, vars, missing)
	return sortedKeys(missing), nil
}

// collectUndefined adds to missing the variables n references that vars
// does not define and no operator gives a default for.
func collectUndefined(n parse.Node, vars map[string]string, missing map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			collectUndefined(c, vars, missing)
		}
	case *parse.FuncNode:
		if _, ok := vars[n.Param]; !ok && !providesDefault(n.Name) {
			missing[n.Param] = true
		}
		for _, a := range n.Args {
			collectUndefined(a, vars, missing)
		}
	}
}

// providesDefault reports whether a substitution operator handles an unset
// variable itself, as ${X:-default} or ${X:=default} do.
func providesDefault(op string) bool {
	switch op {
	case "-", "+", "=", "?", ":-", ":+", ":=", ":?":
		return true
	}
	return false
}

// setCommonMetadata sets labels and annotations on u, replacing values of
// the same keys.
func setCommonMetadata(u *unstructured.Unstructured, labels, annotations map[string]string) {
	if len(labels) > 0 {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		for k, v := range labels {
			l[k] = v
		}
		u.SetLabels(l)
	}
	if len(annotations) > 0 {
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		for k, v := range annotations {
			a[k] = v
		}
		u.SetAnnotations(a)
	}
}

// resolveVars returns the variables substitution sees for ks, reporting
// substituteFrom sources it cannot find as findings on out.
func resolveVars(ks *Kustomization, postBuild bool, opts RenderOptions, out *Rendered) map[string]string {
	vars := map[string]string{}
	if !postBuild {
		return vars
	}
	var missing []SubstituteRef
	for _, ref := range ks.SubstituteFrom {
		src := ks.disc.lookup(ref.Kind, ks.Namespace, ref.Name)
		if src == nil {
			out.unresolved = append(out.unresolved, ref)
			if !ref.Optional {
				missing = append(missing, ref)
			}
			continue
		}
		for _, name := range src.names {
			if v, ok := src.values[name]; ok && !(src.secret && opts.HideSecretValues) {
				vars[name] = v
			} else if v, ok := opts.Vars[name]; ok {
				vars[name] = v
			} else {
				vars[name] = Placeholder(name)
			}
		}
	}
	if len(ks.SubstituteFrom) > 0 {
		for k, v := range opts.Vars {
			if _, ok := vars[k]; !ok {
				vars[k] = v
			}
		}
		for _, n := range opts.Names {
			if _, ok := vars[n]; !ok {
				vars[n] = Placeholder(n)
			}
		}
	}
	// The controller removes newlines from every value.
	for k, v := range vars {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	for k, v := range ks.Substitute {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	if ks.disc != nil && !ks.disc.partial && len(missing) > 0 && len(opts.Vars) == 0 && len(opts.Names) == 0 {
		for _, ref := range missing {
			out.Findings = append(out.Findings, Finding{
				Severity: SeverityWarning, Code: FindingMissingSource, Source: ref.Name, Kustomization: ks.ID(), File: ks.SourceFile,
				Message: fmt.Sprintf("postBuild.substituteFrom %s %s/%s is not rendered by any Kustomization of this repository; its variables are unknown", ref.Kind, ks.Namespace, ref.Name),
			})
		}
	}
	return vars
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
