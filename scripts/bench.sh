#!/usr/bin/env bash
# Benchmarks gen against the figures in BENCHMARKS.md. Run through
# `make bench`, which builds bin/gen and installs the reference tools first.
#
# Everything runs on temporary copies: the corpus and the example repository
# are never written to.
set -euo pipefail
cd "$(dirname "$0")/.."

GEN=${GEN:-bin/gen}
CORPUS=${CORPUS:-../shared/corpora/anton}
RUNS=${RUNS:-30}
export PATH="$(scripts/tools.sh bindir):$PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$CORPUS" "$work/anton"
cp -r examples/home-ops "$work/home-ops"

section() { printf '\n== %s\n' "$*"; }

section "Go benchmarks (ns/op, in process)"
go test -run '^$' -bench 'AddAppDryRunAnton' -benchtime "${RUNS}x" -count 1 ./cmd/gen | grep -E '^Benchmark'
go test -run '^$' -bench 'EncryptSecret' -benchtime 200x -count 1 ./internal/sops | grep -E '^Benchmark'

section "gen add-app --dry-run on a copy of anton (whole process, validation included)"
hyperfine --warmup 3 --runs "$RUNS" --style basic \
	"$GEN add-app default/hello --repo $work/anton --image ghcr.io/traefik/whoami:v1.11.0 --port 80 --host hello --dry-run"

section "Encrypting one Secret: sops CLI (one process per file)"
key="$PWD/examples/home-ops/example-age.key"
plain="$work/home-ops/kubernetes/apps/default/bench-secret.sops.yaml"
printf -- 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bench\nstringData:\n  TOKEN: hunter2\n' > "$plain.plain"
hyperfine --warmup 3 --runs "$RUNS" --style basic \
	"cd $work/home-ops && SOPS_AGE_KEY_FILE=$key sops --encrypt --filename-override kubernetes/apps/default/bench-secret.sops.yaml $plain.plain > /dev/null"

section "Editing one key of an encrypted Secret in place (whole process): sops set vs gen secret set (validation included)"
go test -run '^$' -bench 'SetSecret|OnboardDomain' -benchtime 50x -count 1 ./generator/... | grep -E '^Benchmark'
tunnel=kubernetes/apps/network/cloudflare-tunnel/app/secret.sops.yaml
cat > "$work/sops-set.sh" <<SH
cd $work/home-ops && exec sops set $tunnel '["stringData"]["TUNNEL_TOKEN"]' "\"t-\$(date +%N)\""
SH
cat > "$work/gen-set.sh" <<SH
exec $GEN secret set network/cloudflare-tunnel --repo $work/home-ops TUNNEL_TOKEN=t-\$(date +%N) >/dev/null 2>&1
SH
hyperfine --warmup 3 --runs "$RUNS" --style basic \
	"SOPS_AGE_KEY_FILE=$key sh $work/sops-set.sh" "SOPS_AGE_KEY_FILE=$key sh $work/gen-set.sh"

# ---------------------------------------------------------------------------
# gen check and gen diff (see BENCHMARKS.md, "Checking a repository").

section "gen check on a copy of anton, side by side with kustomize build per Flux Kustomization path, and the floor"
go build -o "$work/yamlfloor" ./internal/synth/cmd/yamlfloor
# The common way: one kustomize build per spec.path of a Flux Kustomization
# (the root's generated kustomization has no file, so that build fails;
# the loop goes on, as CI loops do).
grep -rhE '^[[:space:]]*path: \./kubernetes/' "$work/anton/kubernetes" --include='*.yaml' | awk '{print $2}' | sort -u > "$work/anton-paths"
{
	echo 'cd "$1"'
	echo 'while read -r p; do kustomize build "$p" > /dev/null 2>&1 || true; done < "$2"'
} > "$work/kustomize-loop.sh"
echo "$(wc -l < "$work/anton-paths") Flux Kustomization paths"
hyperfine --warmup 2 --runs "${CHECK_RUNS:-10}" --style basic \
	-n "gen check" "$GEN check --repo $work/anton" \
	-n "kustomize build per path" "bash $work/kustomize-loop.sh $work/anton $work/anton-paths" \
	-n "floor: read and parse every file" "$work/yamlfloor $work/anton"

section "gen check on synthetic repositories (time and peak memory, 3 runs each)"
for n in 100 1000 5000; do
	go run ./internal/synth/cmd/synth -apps "$n" -out "$work/synth-$n"
	echo "$n apps: $(find "$work/synth-$n" -type f | wc -l) files"
	for _ in 1 2 3; do
		/usr/bin/time -f "  %e s wall, %U s user, %M KiB peak" "$GEN" check --repo "$work/synth-$n" > /dev/null
	done
done

section "gen diff of a one-app change in the 5,000-app repository"
(
	cd "$work/synth-5000"
	# No background gc: it would race the explicit one.
	g() { git -c gc.auto=0 -c user.name=bench -c user.email=bench@example.com "$@"; }
	g init -q -b main
	g add -A
	g commit -q -m base
	g gc -q
	sed -i 's/tag: v1.11.0/tag: v1.12.0/' kubernetes/apps/team007/app00700/app/helmrelease.yaml
	g commit -q -am "bump one app"
)
"$GEN" diff --repo "$work/synth-5000" --base main~1 --head main | head -1
hyperfine --warmup 2 --runs "${DIFF_RUNS:-10}" --style basic \
	"$GEN diff --repo $work/synth-5000 --base main~1 --head main"
/usr/bin/time -f "  %e s wall, %M KiB peak" "$GEN" diff --repo "$work/synth-5000" --base main~1 --head main > /dev/null
