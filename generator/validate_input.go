package generator

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/gen-gitops/gen/internal/urlredact"
)

// ociTag is the grammar of an OCI distribution tag.
var ociTag = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// ValidateChartVersion checks --chart-version: a SemVer version, which is
// what Helm requires of a chart's version (a "v" prefix and a short
// "1.2" are accepted, as Helm does). A range is refused: gen pins the
// version Flux installs. From an OCI registry the version is also the
// tag Helm pushed, which cannot hold "+": Helm writes 1.2.3+build as
// 1.2.3_build.
func ValidateChartVersion(v string, oci bool) error {
	if v == "" {
		return fmt.Errorf("--chart-version is required with --chart: pin the version Flux installs")
	}
	semverText := v
	if oci {
		semverText = strings.ReplaceAll(v, "_", "+")
	}
	if _, err := semver.NewVersion(semverText); err != nil {
		return fmt.Errorf("--chart-version %q is not a chart version: want an exact SemVer version like 1.2.3 (a range is not pinned)", v)
	}
	if oci {
		if strings.Contains(v, "+") {
			return fmt.Errorf("--chart-version %q: an OCI tag cannot hold \"+\"; Helm pushes this version as %q, give that",
				v, strings.ReplaceAll(v, "+", "_"))
		}
		if !ociTag.MatchString(v) {
			return fmt.Errorf("--chart-version %q is not a valid OCI tag", v)
		}
	}
	return nil
}

// ValidateChartURL refuses credentials in --chart (a password, a token
// as the user, a secret query parameter): the URL is written into the
// repository, and Flux reads chart credentials from a Secret
// (spec.secretRef), never from the URL.
func ValidateChartURL(s string) error {
	if urlredact.HasCredentials(s) {
		return fmt.Errorf("--chart %q holds credentials, and the URL is committed to the repository: "+
			"drop them and give Flux a Secret through the source's secretRef", urlredact.URL(s))
	}
	return nil
}

// CheckHosts refuses a wildcard hostname unless allowed: "*.example.org"
// routes every name under the domain to one app, which is rarely meant
// and easy to type by accident (an unquoted shell glob, a bare "*").
// Where allowed, the wildcard may only be the first label, as the
// Gateway API and cloudflared accept it.
func CheckHosts(hosts []string, allowWildcard bool) error {
	for _, h := range hosts {
		if !strings.Contains(h, "*") {
			continue
		}
		labels := strings.Split(h, ".")
		for i, l := range labels {
			if strings.Contains(l, "*") && (i > 0 || l != "*") {
				return fmt.Errorf("--host %q: a wildcard may only be a whole first label (*.example.org)", h)
			}
		}
		if !allowWildcard {
			return fmt.Errorf("--host %q is a wildcard: it sends every name under its domain to this app; pass --allow-wildcard if that is what you want", h)
		}
	}
	return nil
}
