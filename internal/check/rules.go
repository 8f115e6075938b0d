package check

import "sort"

// Severity grades a finding.
type Severity string

// Severities, from the most to the least serious. Only errors fail a check.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// rank orders severities, errors first.
func (s Severity) rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// Rule is one entry of the catalogue: what a finding of this id means and
// how to fix it.
type Rule struct {
	// ID is stable: scripts, --disable and # gen:ignore use it.
	ID       string
	Severity Severity
	// Summary says what the rule checks.
	Summary string
	// Fix is the one-line fix shown with every finding.
	Fix string
}

// Rule ids.
const (
	RuleYAMLSyntax        = "yaml-syntax"
	RuleBuild             = "build"
	RuleSchema            = "schema"
	RuleNotBuilt          = "not-built"
	RuleRoot              = "root"
	RuleRepoShape         = "repo-shape"
	RulePathNotFound      = "path-not-found"
	RuleDecryption        = "decryption"
	RuleSubstituteFrom    = "substitute-from"
	RuleUndefinedVar      = "undefined-var"
	RuleUnregisteredApp   = "unregistered-app"
	RuleDisabledApp       = "disabled-app"
	RuleChartSource       = "chart-source"
	RuleChartRef          = "chart-ref"
	RuleDependsOnRequired = "depends-on-required"
	RuleDependsOnRoute    = "depends-on-route"
	RuleDependsOnUnknown  = "depends-on-unknown"
	RuleSecretPlaintext   = "secret-plaintext"
	RuleSopsNoRule        = "sops-no-rule"
	RuleSopsNotEncrypted  = "sops-not-encrypted"
	RuleHostUnknownDomain = "host-unknown-domain"
	RuleHostNoDNSEndpoint = "host-no-dnsendpoint"
	RuleRedirectDNS       = "redirect-dns"
	RuleRouteTarget       = "route-target-annotation"
	RuleParentRef         = "parent-ref"
	RuleRemote            = "remote-resource"
	RulePathEscape        = "path-escape"
	RuleExec              = "exec"
	RuleSymlinkEscape     = "symlink-escape"
	RuleSymlink           = "symlink"
	RuleFileTooLarge      = "file-too-large"
	RuleRepoTooLarge      = "repo-too-large"
	RuleYAMLAliases       = "yaml-aliases"
	RuleYAMLDepth         = "yaml-depth"
	RuleTooManyObjects    = "too-many-objects"
)

// Rules is the catalogue, by id.
var Rules = map[string]Rule{
	// Building the repository the way Flux does.
	RuleYAMLSyntax: {RuleYAMLSyntax, SeverityError, "a YAML file does not parse",
		"fix the YAML at the line given (indentation, a missing colon, an unclosed quote)"},
	RuleBuild: {RuleBuild, SeverityError, "a Flux Kustomization does not build the way kustomize-controller builds it",
		"fix the file or reference named in the error; the controller fails the same way"},
	RuleSchema: {RuleSchema, SeverityError, "a rendered object has a field its API does not know, a value of the wrong type, or a field twice",
		"remove or rename the field (check the spelling and the nesting against the kind's API reference)"},
	RuleNotBuilt: {RuleNotBuilt, SeverityInfo, "a Flux Kustomization builds from another source than this repository, so it is not checked",
		"nothing to do: its source is fetched by Flux, not kept here"},
	RuleRoot: {RuleRoot, SeverityError, "the root Flux Kustomization file is missing or unreadable",
		"pass the file that holds the root Kustomizations with --root (default kubernetes/flux/cluster/ks.yaml)"},
	RuleRepoShape: {RuleRepoShape, SeverityWarning, "the repository's layout was not recognised, so the app rules did not run",
		"say where the apps live in .gen.yaml (appsDir: kubernetes/apps)"},
	RulePathNotFound: {RulePathNotFound, SeverityError, "a Flux Kustomization's spec.path is missing or not a folder",
		"point spec.path at the app's folder, e.g. ./kubernetes/apps/<ns>/<app>/app"},
	RuleDecryption: {RuleDecryption, SeverityError, "a SOPS-encrypted object is built by a Kustomization without spec.decryption",
		"add spec.decryption: {provider: sops} to the Kustomization (or to the root's patch for all children)"},
	RuleSubstituteFrom: {RuleSubstituteFrom, SeverityWarning, "a postBuild.substituteFrom source is not rendered by any Kustomization of the repository",
		"add the ConfigMap or Secret to the namespace (e.g. through the sops component), or mark the reference optional: true"},
	RuleUndefinedVar: {RuleUndefinedVar, SeverityError, "a ${VAR} without a default is defined nowhere, so Flux substitutes an empty string",
		"add the variable to cluster-secrets (or postBuild.substitute), or give it a default: ${VAR:=value}"},

	// The repository's contract.
	RuleUnregisteredApp: {RuleUnregisteredApp, SeverityError, "an app's ks.yaml is not listed in its namespace kustomization, so Flux never deploys it",
		"add `- ./<app>/ks.yaml` to the resources of the namespace's kustomization.yaml"},
	RuleDisabledApp: {RuleDisabledApp, SeverityInfo, "an app's entry in its namespace kustomization is commented out: it is disabled on purpose",
		"nothing to do; uncomment the entry to deploy the app again"},
	RuleChartSource: {RuleChartSource, SeverityError, "a HelmRelease does not name exactly one chart (spec.chartRef or spec.chart), or its app declares several chart sources",
		"keep exactly one of spec.chartRef (with an OCIRepository) or spec.chart.spec (with a HelmRepository or GitRepository)"},
	RuleChartRef: {RuleChartRef, SeverityError, "a HelmRelease's chartRef or chart sourceRef names a source the repository does not declare",
		"fix the name, kind or namespace in the reference, or add the OCIRepository/HelmRepository it names"},
	RuleDependsOnRequired: {RuleDependsOnRequired, SeverityError, "an app's resources need a Kustomization in dependsOn (HTTPRoute: the gateway, DNSEndpoint: external-dns, ExternalSecret, CNPG Cluster, NetworkAttachmentDefinition)",
		"add the named Kustomization to spec.dependsOn in the app's ks.yaml"},
	RuleDependsOnRoute: {RuleDependsOnRoute, SeverityWarning, "a HelmRelease renders a route (app-template route:) but the app does not depend on the gateway",
		"add the gateway's Kustomization to spec.dependsOn in the app's ks.yaml"},
	RuleDependsOnUnknown: {RuleDependsOnUnknown, SeverityError, "dependsOn names a Kustomization that does not exist, so Flux waits forever",
		"fix the name and namespace, or remove the entry"},
	RuleSecretPlaintext: {RuleSecretPlaintext, SeverityError, "a Secret value is stored unencrypted: in a Secret (also one inside a List or a HelmRelease's values, or one sops left partly readable), a secretGenerator's literal or the file it reads",
		"move it to a *.sops.yaml file and encrypt it (sops --encrypt --in-place <file>) under a .sops.yaml rule that encrypts data and stringData"},
	RuleSopsNoRule: {RuleSopsNoRule, SeverityError, "a SOPS file matches no creation rule of .sops.yaml, so sops cannot re-encrypt it",
		"rename the file to match a path_regex of .sops.yaml, or add a rule for it"},
	RuleSopsNotEncrypted: {RuleSopsNotEncrypted, SeverityError, "a *.sops.yaml file is not encrypted",
		"encrypt it: sops --encrypt --in-place <file>"},
	RuleHostUnknownDomain: {RuleHostUnknownDomain, SeverityError, "a route's hostname is on no onboarded domain, so no certificate or tunnel rule covers it",
		"use a hostname on an onboarded domain, or run `gen onboard-domain <domain>` first"},
	RuleHostNoDNSEndpoint: {RuleHostNoDNSEndpoint, SeverityError, "a hostname on a secondary domain has no DNSEndpoint, so no DNS record is ever published (external-dns only follows the gateway's primary-domain target)",
		"add a DNSEndpoint: {dnsName: <host>, recordType: CNAME, targets: [external.<domain>]}"},
	RuleRedirectDNS: {RuleRedirectDNS, SeverityError, "a redirect HTTPRoute lacks external-dns.alpha.kubernetes.io/controller: none, and the record external-dns publishes for it clashes with another route's",
		"annotate the route with external-dns.alpha.kubernetes.io/controller: none"},
	RuleRouteTarget: {RuleRouteTarget, SeverityWarning, "an HTTPRoute carries external-dns.alpha.kubernetes.io/target, which external-dns ignores on routes",
		"remove the annotation; the gateway's target annotation decides the record"},
	RuleParentRef: {RuleParentRef, SeverityError, "a route's parentRef to a gateway lacks the gateway's namespace or sectionName: https (or another HTTPS listener of it)",
		"write parentRefs: [{name: <gateway>, namespace: <its namespace>, sectionName: https}]"},

	// Safety on untrusted pull requests.
	RuleRemote: {RuleRemote, SeverityWarning, "a kustomization refers to a URL or git repository; gen never fetches, so that Kustomization is not checked (an error where kustomize-controller runs with --no-remote-bases=true)",
		"vendor the resource into the repository, or build it from a Flux GitRepository/OCIRepository source"},
	RulePathEscape: {RulePathEscape, SeverityError, "a path leaves the repository (../ above the root, or an absolute path)",
		"use a relative path that stays inside the repository"},
	RuleExec: {RuleExec, SeverityError, "a kustomization would run a program (helmCharts, a KRM function); gen never executes anything from a repository",
		"render the chart with a Flux HelmRelease instead, and drop the function"},
	RuleSymlinkEscape: {RuleSymlinkEscape, SeverityError, "a symbolic link points outside the repository",
		"replace the link with the file itself"},
	RuleSymlink: {RuleSymlink, SeverityWarning, "a symbolic link is not followed, so what it points to is not checked",
		"replace the link with the file itself"},
	RuleFileTooLarge: {RuleFileTooLarge, SeverityError, "a file is larger than the limit and was not read",
		"split the file, or keep large data out of the manifests"},
	RuleRepoTooLarge: {RuleRepoTooLarge, SeverityError, "the repository holds more files or bytes than the limit; the rest was not read",
		"check a smaller tree, or raise the limit if the repository is legitimately this large"},
	RuleYAMLAliases: {RuleYAMLAliases, SeverityError, "a YAML file's aliases expand beyond the limit (a billion-laughs document); it was left out",
		"write the values out instead of nesting aliases"},
	RuleYAMLDepth: {RuleYAMLDepth, SeverityError, "a YAML document nests deeper than the limit; it was left out",
		"flatten the document"},
	RuleTooManyObjects: {RuleTooManyObjects, SeverityError, "the repository renders more objects, or its builds read more bytes, than the limit; rendering stopped",
		"check a smaller tree, or raise the limit if the repository is legitimately this large"},
}

// RuleIDs returns every rule id, sorted.
func RuleIDs() []string {
	out := make([]string, 0, len(Rules))
	for id := range Rules {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
