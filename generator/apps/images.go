package apps

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator/internal/yamlnode"
	"github.com/gen-gitops/gen/scaffolds"
)

// ImagePolicyKind is how Flux's image-reflector picks the newest tag.
type ImagePolicyKind string

// Image policy kinds of --image-policy.
const (
	// ImagePolicySemver picks the highest tag in a semver range.
	ImagePolicySemver ImagePolicyKind = "semver"
	// ImagePolicyRegex keeps the tags a pattern matches and orders them by
	// what the pattern extracts: numerically when --image-policy-extract is
	// given (a build number or timestamp), alphabetically otherwise.
	ImagePolicyRegex ImagePolicyKind = "regex"
)

// ImagePolicy is a parsed --image-policy: an ImageRepository and an
// ImagePolicy beside the app, and the setter comment on its tag that Flux's
// image-automation rewrites.
type ImagePolicy struct {
	Kind ImagePolicyKind
	// Range is the semver range (ImagePolicySemver).
	Range string
	// Pattern filters tags (ImagePolicyRegex); Extract is what of a match
	// is ordered ($name or $1; the whole tag when empty).
	Pattern string
	Extract string
}

// ImageAutomationAPIVersion is the image.toolkit.fluxcd.io version gen
// writes.
const ImageAutomationAPIVersion = "image.toolkit.fluxcd.io/v1"

var extractRef = regexp.MustCompile(`\$(\{[A-Za-z0-9_]+\}|[A-Za-z0-9_]+)`)

// ParseImagePolicy parses "semver:<range>" or "regex:<pattern>" and the
// optional extract template ($ts, ${ts} or $1), checking them the way the
// image-reflector will: the range must parse as a semver constraint, the
// pattern must compile as a Go regular expression, and extract may name only
// groups the pattern has.
func ParseImagePolicy(policy, extract string) (*ImagePolicy, error) {
	kind, arg, ok := strings.Cut(policy, ":")
	if !ok || arg == "" {
		return nil, fmt.Errorf("--image-policy %q: want semver:<range> (e.g. semver:>=1.0.0) or regex:<pattern>", policy)
	}
	switch ImagePolicyKind(kind) {
	case ImagePolicySemver:
		if extract != "" {
			return nil, fmt.Errorf("--image-policy-extract goes with a regex: policy, not semver:")
		}
		if _, err := semver.NewConstraint(arg); err != nil {
			return nil, fmt.Errorf("--image-policy %q: %q is not a semver range (e.g. >=1.0.0, ~1.2, 1.x): %v", policy, arg, err)
		}
		return &ImagePolicy{Kind: ImagePolicySemver, Range: arg}, nil
	case ImagePolicyRegex:
		re, err := regexp.Compile(arg)
		if err != nil {
			return nil, fmt.Errorf("--image-policy %q: the pattern does not compile: %v", policy, err)
		}
		for _, m := range extractRef.FindAllStringSubmatch(extract, -1) {
			name := strings.Trim(m[1], "{}")
			if !hasGroup(re, name) {
				return nil, fmt.Errorf("--image-policy-extract %q: the pattern has no group %q (its groups: %s)", extract, name, groupList(re))
			}
		}
		if extract != "" && !extractRef.MatchString(extract) {
			return nil, fmt.Errorf("--image-policy-extract %q names no group: use $name for (?P<name>...) or $1", extract)
		}
		return &ImagePolicy{Kind: ImagePolicyRegex, Pattern: arg, Extract: extract}, nil
	}
	return nil, fmt.Errorf("--image-policy %q: unknown kind %q; want semver:<range> or regex:<pattern>", policy, kind)
}

func hasGroup(re *regexp.Regexp, name string) bool {
	if n, err := strconv.Atoi(name); err == nil && strconv.Itoa(n) == name {
		return n <= re.NumSubexp()
	}
	for _, g := range re.SubexpNames() {
		if g == name && g != "" {
			return true
		}
	}
	return false
}

func groupList(re *regexp.Regexp) string {
	var out []string
	for i, g := range re.SubexpNames() {
		if i == 0 {
			continue
		}
		if g == "" {
			g = strconv.Itoa(i)
		}
		out = append(out, "$"+g)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// ImagePolicyMarker returns the setter comment image-automation looks for:
// {"$imagepolicy": "<namespace>:<name>"} on a full image reference, with
// ":tag" (or another field) on a field that holds only that part.
func ImagePolicyMarker(namespace, name, field string) string {
	ref := namespace + ":" + name
	if field != "" {
		ref += ":" + field
	}
	return fmt.Sprintf(`{"$imagepolicy": %q}`, ref)
}

// imageAutomation writes the ImageRepository and ImagePolicy for the app's
// image, and the ImageUpdateAutomation that commits what they find when
// none in the repository does.
func (g *adder) imageAutomation() error {
	p := g.o.ImagePolicy
	if p == nil {
		return nil
	}
	imageName, _ := splitImage(g.o.Image)
	header := func(kind string) string {
		if !g.f.style.SchemaHeaders {
			return ""
		}
		return "# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/image.toolkit.fluxcd.io/" + kind + "_v1.json\n"
	}
	repoDoc := yamlnode.MapOf(
		"apiVersion", yamlnode.Str(ImageAutomationAPIVersion),
		"kind", yamlnode.Str("ImageRepository"),
		"metadata", yamlnode.MapOf("name", yamlnode.Str(g.o.Name)),
		"spec", yamlnode.MapOf("image", yamlnode.Str(imageName), "interval", yamlnode.Str("15m")),
	)
	spec := yamlnode.NewMap()
	spec.Set("imageRepositoryRef", yamlnode.MapOf("name", yamlnode.Str(g.o.Name)))
	switch p.Kind {
	case ImagePolicySemver:
		spec.Set("policy", yamlnode.MapOf("semver", yamlnode.MapOf("range", yamlnode.Str(p.Range))))
	case ImagePolicyRegex:
		filter := yamlnode.NewMap()
		filter.Set("pattern", yamlnode.SingleQuoted(p.Pattern))
		if p.Extract != "" {
			filter.Set("extract", yamlnode.SingleQuoted(p.Extract))
			spec.Set("filterTags", filter.Node)
			spec.Set("policy", yamlnode.MapOf("numerical", yamlnode.MapOf("order", yamlnode.Str("asc"))))
		} else {
			spec.Set("filterTags", filter.Node)
			spec.Set("policy", yamlnode.MapOf("alphabetical", yamlnode.MapOf("order", yamlnode.Str("asc"))))
		}
	}
	policyDoc := yamlnode.MapOf(
		"apiVersion", yamlnode.Str(ImageAutomationAPIVersion),
		"kind", yamlnode.Str("ImagePolicy"),
		"metadata", yamlnode.MapOf("name", yamlnode.Str(g.o.Name)),
		"spec", spec.Node,
	)
	for _, f := range []struct {
		file, kind string
		doc        *yaml.Node
	}{{"imagerepository.yaml", "imagerepository", repoDoc}, {"imagepolicy.yaml", "imagepolicy", policyDoc}} {
		body, err := scaffolds.ToYAML(f.doc)
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.file, err)
		}
		g.f.Changeset.Add(g.f.File(f.file), []byte("---\n"+header(f.kind)+body+"\n"))
		g.f.Resources = append(g.f.Resources, f.file)
	}
	return g.writeImageAutomation()
}

// validateImagePolicy checks that the image can be followed: a tag to
// rewrite, no digest pinning it.
func (o AddOptions) validateImagePolicy() error {
	if o.ImagePolicy == nil {
		if o.SkipImageAutomation {
			return fmt.Errorf("--image-automation=false goes with --image-policy")
		}
		return nil
	}
	if o.Image == "" {
		return fmt.Errorf("--image-policy follows the tags of --image; in chart mode set the image in --values and add the policy by hand")
	}
	if strings.Contains(o.Image, "@") {
		return fmt.Errorf("--image-policy and a digest in --image %q do not go together: image-automation rewrites the tag", o.Image)
	}
	if _, tag := splitImage(o.Image); tag == "latest" && !strings.HasSuffix(o.Image, ":latest") {
		return fmt.Errorf("--image-policy needs a tag on --image (e.g. %s:1.0.0) for image-automation to rewrite", o.Image)
	}
	return nil
}
