#!/usr/bin/env bash
# Runs gen's round trip on every repository (a git clone with history)
# under CORPUS, and writes a Markdown table of the results. Run through
# `make conformance CORPUS=dir`; it is not part of `make test`.
#
# For each repository, on throwaway copies only (the clones are never
# written to):
#   check     gen check: no crash, the clusters and roots found, findings
#             counted by severity and by rule
#   add-app   gen add-app <ns>/conftest --image ... --port 80 --host conftest,
#             with no .gen.yaml and no age key
#   check2    gen check on the result: no finding about the new app
#   build     kustomize build of the new app's folder
#   remove    gen remove-app <ns>/conftest: the tree byte-identical to before
#   diff      gen diff over the last ten commits: it runs, and every changed
#             file gen reads is in its list of changed files, rendered by a
#             cluster or named as used by none
#
# Environment: GEN (default bin/gen), OUT (default conformance-out),
# APP_NS (the namespace to add the app to; default: default if the apps
# folder has it, else the first namespace folder).
set -uo pipefail
cd "$(dirname "$0")/.."

CORPUS=${CORPUS:?set CORPUS to a folder of git clones}
GEN=$(realpath "${GEN:-bin/gen}")
OUT=${OUT:-conformance-out}
IMAGE=ghcr.io/traefik/whoami:v1.11.0
export PATH="$(scripts/tools.sh bindir):$PATH"
command -v kustomize >/dev/null || { echo "conformance: kustomize not found; run scripts/tools.sh bench" >&2; exit 2; }
command -v jq >/dev/null || { echo "conformance: jq not found" >&2; exit 2; }

mkdir -p "$OUT"
OUT=$(realpath "$OUT")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# No age key anywhere gen looks: the round trip is a new user's.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$HOME"
unset SOPS_AGE_KEY_FILE SOPS_AGE_KEY

table="$OUT/table.md"
{
	echo "| repository | commit | clusters (Kustomizations) | check: errors / warnings / notes | errors by rule | add-app | check after | build | remove-app | diff (10 commits) |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$table"

# n COUNT WORD: "1 file", "2 files".
n() { if [ "$1" = 1 ]; then echo "1 $2"; else echo "$1 $2s"; fi; }

# gen_reads: the files gen reads of a repository (repo.ReadFiles).
gen_reads() { grep -E '(^kubernetes/|\.ya?ml$|(^|/)\.sops\.yaml$|^\.gen\.yaml$)' || true; }

for dir in "$CORPUS"/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	[ -d "$dir/.git" ] || continue
	log="$OUT/$name"
	mkdir -p "$log"
	commit=$(git -C "$dir" rev-parse --short=12 HEAD)
	echo "conformance: $name $commit" >&2

	# 1. check
	"$GEN" check --repo "$dir" --output json > "$log/check.json" 2> "$log/check.stderr"
	rc=$?
	"$GEN" check --repo "$dir" --color never > "$log/check.txt" 2>/dev/null
	if [ $rc -gt 1 ] || grep -q '^panic\|goroutine [0-9]* \[running\]' "$log/check.stderr"; then
		check="crash (exit $rc)"
		clusters="-"; byrule="-"
	else
		read -r e w i < <(jq -r '[.summary.errors, .summary.warnings, .summary.infos] | @tsv' "$log/check.json")
		check="$e / $w / $i"
		clusters=$(jq -r '[.clusters[] | "\(.name) (\(.kustomizations))"] | join(", ")' "$log/check.json")
		byrule=$(jq -r '[.findings[] | select(.severity=="error") | .rule] | group_by(.) | map("\(.[0]) \(length)") | join(", ")' "$log/check.json")
		[ -n "$byrule" ] || byrule="none"
		jq -r '[.findings[] | "\(.severity) \(.rule)"] | group_by(.) | map("\(length) \(.[0])") | .[]' "$log/check.json" > "$log/counts.txt"
	fi

	# 2. add-app on a copy
	copy="$work/$name"
	rm -rf "$copy"
	mkdir -p "$copy"
	tar -C "$dir" --exclude=.git -cf - . | tar -C "$copy" -xf -
	apps=$(jq -r '[.clusters[]? | select(.appsDir != null) | .appsDir][0] // empty' "$log/check.json" 2>/dev/null)
	ns=${APP_NS:-}
	if [ -z "$ns" ] && [ -n "$apps" ]; then
		if [ -f "$copy/$apps/default/kustomization.yaml" ]; then
			ns=default
		else
			ns=$(cd "$copy/$apps" && for d in */; do [ -f "$d/kustomization.yaml" ] && { echo "${d%/}"; break; }; done)
		fi
	fi
	addapp="-"; check2="-"; build="-"; remove="-"
	if [ -z "$ns" ]; then
		addapp="no apps folder"
	else
		if "$GEN" add-app "$ns/conftest" --repo "$copy" --image "$IMAGE" --port 80 --host conftest > "$log/add-app.out" 2>&1; then
			addapp="ok ($ns)"
			# 3. check again: nothing about the new app
			"$GEN" check --repo "$copy" --output json > "$log/check2.json" 2> "$log/check2.stderr"
			about=$(jq '[.findings[] | select((.file // "" | test("/conftest/")) or (.object // "" | test("conftest")) or (.message | test("conftest")))] | length' "$log/check2.json" 2>/dev/null || echo "?")
			jq -r '.findings[] | select((.file // "" | test("/conftest/")) or (.object // "" | test("conftest")) or (.message | test("conftest"))) | "\(.file):\(.line // 0): \(.severity) [\(.rule)] \(.message)"' "$log/check2.json" > "$log/check2-conftest.txt" 2>/dev/null
			if [ "$about" = "0" ]; then check2="ok"; else check2="$(n "$about" finding) about the app"; fi
			# 4. kustomize build of the new app
			appdir=$(cd "$copy" && find . -path "*/$ns/conftest/app" -type d | head -1)
			if [ -n "$appdir" ] && kustomize build "$copy/$appdir" > "$log/build.yaml" 2> "$log/build.err"; then
				build="ok"
			else
				build="fails"
			fi
			# 5. remove-app: byte-identical
			if "$GEN" remove-app "$ns/conftest" --repo "$copy" > "$log/remove-app.out" 2>&1; then
				if diff -r -q --exclude=.git "$dir" "$copy" > "$log/remove-app.diff" 2>&1; then
					remove="identical"
				else
					remove="$(wc -l < "$log/remove-app.diff") files differ"
				fi
			else
				remove="fails"
			fi
		else
			addapp="fails: $(head -1 "$log/add-app.out" | cut -c1-140 | tr "|" "/")"
		fi
	fi

	# 6. diff over the last ten commits
	base=$(git -C "$dir" rev-parse --short=12 HEAD~10 2>/dev/null)
	if [ -z "$base" ]; then
		diffres="fewer than ten commits"
	else
		"$GEN" diff --repo "$dir" --base "$base" --head HEAD --output json > "$log/diff.json" 2> "$log/diff.stderr"
		rc=$?
		if [ $rc -gt 1 ] || ! jq -e . "$log/diff.json" > /dev/null 2>&1; then
			diffres="fails (exit $rc): $(head -c 100 "$log/diff.stderr" | tr '\n|' '  ')"
		else
			git -C "$dir" diff --name-only "$base" HEAD | gen_reads | sort > "$log/diff-git.txt"
			jq -r '.paths[]' "$log/diff.json" | sort > "$log/diff-gen.txt"
			missing=$(comm -23 "$log/diff-git.txt" "$log/diff-gen.txt" | wc -l)
			files=$(wc -l < "$log/diff-git.txt")
			unused=$(jq '(.unused // []) | length' "$log/diff.json")
			ks=$(jq '.kustomizations | length' "$log/diff.json")
			errs=$(jq '[(.findings // [])[] | select(.severity=="error")] | length' "$log/diff.json")
			if [ "$missing" = "0" ]; then
				diffres="$(n "$files" file): $(n "$ks" Kustomization) rendered differently, $(n "$unused" file) used by no cluster"
			else
				diffres="$missing of $(n "$files" "changed file") missing"
			fi
			[ "$errs" = "0" ] || diffres="$diffres, $(n "$errs" error)"
		fi
	fi

	echo "| $name | \`$commit\` | $clusters | $check | $byrule | $addapp | $check2 | $build | $remove | $diffres |" >> "$table"
done
echo "conformance: table in $table, logs in $OUT/<repository>/" >&2
