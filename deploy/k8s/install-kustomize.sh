#!/usr/bin/env bash
# Installs the pinned kustomize into deploy/k8s/.local/bin (git-ignored), built from its Go
# module with the machine's Go. Idempotent: does nothing when that version is already there.
#
#   deploy/k8s/install-kustomize.sh            # then: uv run --frozen pytest deploy/k8s
#
# KUSTOMIZE_VERSION overrides the pin. v5.8.2 is the newest release whose go.mod asks for
# no newer Go than 1.26 (v5.8.3 needs Go 1.27).
set -euo pipefail

version=${KUSTOMIZE_VERSION:-v5.8.2}
here=$(cd "$(dirname "$0")" && pwd)
bindir="$here/.local/bin"
binary="$bindir/kustomize"

if [[ -x $binary ]] && [[ $("$binary" version 2>/dev/null) == "$version" ]]; then
    echo "kustomize $version already in $bindir"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-kustomize.sh: needs Go (1.26 or newer) to build kustomize $version" >&2
    exit 1
fi

mkdir -p "$bindir"
echo "building kustomize $version into $bindir"
GOBIN="$bindir" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$version"
"$binary" version
