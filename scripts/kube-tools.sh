#!/usr/bin/env bash
# Installs the Kubernetes control plane gen's integration tests run against:
# kube-apiserver and etcd built from the pinned Go modules in tools/kube, and a
# link to the machine's kubectl. They land in one folder keyed by version,
# which is what KUBEBUILDER_ASSETS points at; a folder that is already complete
# is left alone, so only a fresh machine pays for the build (~7 min on 2 cores).
#
#   scripts/kube-tools.sh          build what is missing
#   scripts/kube-tools.sh assets   print the assets folder
set -euo pipefail

# Every go command here uses the Go release named by go.mod's toolchain line.
export GOTOOLCHAIN="$(awk '/^toolchain /{print $2}' "$(dirname "${BASH_SOURCE[0]}")/../go.mod")"

KUBE_VERSION=v1.37.2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR=${GEN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gen-tools}
ASSETS="$TOOLS_DIR/kube-$KUBE_VERSION"

log() { printf 'kube-tools: %s\n' "$*" >&2; }

# build NAME PACKAGE: builds PACKAGE from the tools module into $ASSETS/NAME,
# through a temporary name so an interrupted build never looks complete.
build() {
	local name=$1 pkg=$2
	if [ -x "$ASSETS/$name" ]; then
		return
	fi
	log "building $name $KUBE_VERSION into $ASSETS (first run only)"
	local start=$SECONDS tmp="$ASSETS/.$name.$$.tmp"
	(cd "$ROOT/tools/kube" && GOFLAGS=-mod=mod go build -trimpath -ldflags '-s -w' -o "$tmp" "$pkg")
	mv "$tmp" "$ASSETS/$name"
	log "built $name in $((SECONDS - start))s"
}

link_kubectl() {
	if [ -x "$ASSETS/kubectl" ]; then
		return
	fi
	local kubectl
	kubectl=$(command -v kubectl || true)
	if [ -z "$kubectl" ]; then
		log "kubectl not found on PATH; tests that shell out to it will fail"
		return
	fi
	ln -sf "$kubectl" "$ASSETS/kubectl"
}

case "${1:-install}" in
assets)
	echo "$ASSETS"
	;;
install)
	mkdir -p "$ASSETS"
	# Two runs at once (two test jobs on a fresh machine) would build twice
	# on the same cores: the second waits for the first and finds its result.
	exec 9>"$ASSETS/.lock"
	if command -v flock >/dev/null 2>&1 && ! flock -n 9; then
		log "another run is building into $ASSETS; waiting for it"
		flock 9
	fi
	build etcd ./etcd
	build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
	link_kubectl
	;;
*)
	echo "usage: scripts/kube-tools.sh [install|assets]" >&2
	exit 2
	;;
esac
