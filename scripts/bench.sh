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
go test -run '^$' -bench 'SetSecret|OnboardDomain' -benchtime 50x -count 1 ./generator | grep -E '^Benchmark'
tunnel=kubernetes/apps/network/cloudflare-tunnel/app/secret.sops.yaml
cat > "$work/sops-set.sh" <<SH
cd $work/home-ops && exec sops set $tunnel '["stringData"]["TUNNEL_TOKEN"]' "\"t-\$(date +%N)\""
SH
cat > "$work/gen-set.sh" <<SH
exec $GEN secret set network/cloudflare-tunnel --repo $work/home-ops TUNNEL_TOKEN=t-\$(date +%N) >/dev/null 2>&1
SH
hyperfine --warmup 3 --runs "$RUNS" --style basic \
	"SOPS_AGE_KEY_FILE=$key sh $work/sops-set.sh" "SOPS_AGE_KEY_FILE=$key sh $work/gen-set.sh"
