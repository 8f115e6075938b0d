#!/usr/bin/env bash
# Installs the external programs gen's tests and benchmarks compare against.
# Everything lands in a cache outside the repository, keyed by version, and is
# skipped when already present, so a warm machine pays nothing.
#
#   scripts/tools.sh            install what `make test` needs
#   scripts/tools.sh bench      also install what `make bench` needs
#   scripts/tools.sh bindir     print the folder to put on PATH
set -euo pipefail

# Every go command here uses the Go release named by go.mod's toolchain line.
export GOTOOLCHAIN="$(awk '/^toolchain /{print $2}' "$(dirname "${BASH_SOURCE[0]}")/../go.mod")"

SOPS_VERSION=v3.13.3
KUSTOMIZE_VERSION=v5.8.2

TOOLS_DIR=${GEN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gen-tools}
BIN="$TOOLS_DIR/bin"
mkdir -p "$BIN"

log() { printf 'tools: %s\n' "$*" >&2; }

# go_tool NAME VERSION MODULE_PATH: builds a Go program at a pinned version
# into $TOOLS_DIR/NAME-VERSION and links it into $BIN.
go_tool() {
	local name=$1 version=$2 pkg=$3
	local dir="$TOOLS_DIR/$name-$version"
	if [ ! -x "$dir/$name" ]; then
		log "building $name $version (first run only)"
		mkdir -p "$dir"
		GOBIN="$dir" GOFLAGS=-mod=mod go install "$pkg@$version"
	fi
	ln -sf "$dir/$name" "$BIN/$name"
}

need_git() {
	if ! command -v git >/dev/null 2>&1; then
		log "installing git"
		apt_install git
	fi
}

apt_updated=
apt_install() {
	if [ -z "$apt_updated" ]; then
		apt-get update -qq >/dev/null
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need_age() {
	if ! command -v age-keygen >/dev/null 2>&1; then
		log "installing age"
		apt_install age
	fi
}

case "${1:-test}" in
bindir)
	echo "$BIN"
	;;
test)
	need_git
	need_age
	go_tool sops "$SOPS_VERSION" github.com/getsops/sops/v3/cmd/sops
	"$(dirname "${BASH_SOURCE[0]}")/kube-tools.sh"
	;;
bench)
	need_git
	need_age
	go_tool sops "$SOPS_VERSION" github.com/getsops/sops/v3/cmd/sops
	go_tool kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
	if ! command -v hyperfine >/dev/null 2>&1; then
		log "installing hyperfine"
		apt_install hyperfine
	fi
	;;
*)
	echo "usage: scripts/tools.sh [test|bench|bindir]" >&2
	exit 2
	;;
esac
