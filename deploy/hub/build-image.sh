#!/usr/bin/env bash
# Build a hub's single-user image from binder/ with repo2docker, exactly as mybinder.org builds
# the Binder image (learners' packages, labkit, its PostgreSQL template warmed by postBuild),
# from one committed tag or commit, and optionally push it.
#
#   deploy/hub/build-image.sh REGISTRY/labkit-lab            # HEAD's tag, else its commit
#   deploy/hub/build-image.sh REGISTRY/labkit-lab v2026-12 --push
#
# Needs a Docker engine and the workbook's .venv (make test builds it; repo2docker is in the
# test extra). Prints the image name to put in deploy/hub/z2jh-values.yaml.
set -euo pipefail
cd "$(dirname "$0")/../.."

image=${1:?usage: deploy/hub/build-image.sh IMAGE [REF] [--push]}
ref=${2:-$(git describe --tags --exact-match HEAD 2>/dev/null || git rev-parse HEAD)}
push=${3:-}
[ "$ref" = --push ] && { push=--push; ref=$(git describe --tags --exact-match HEAD 2>/dev/null || git rev-parse HEAD); }

# the committed state of $ref only: nothing from the working tree leaks into the image
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git archive "$ref" | tar -x -C "$src"
tag=$(git rev-parse --short=12 "$ref^{commit}")
[ "$ref" != "$(git rev-parse "$ref^{commit}")" ] && tag=$ref

echo "building $image:$tag from $ref with repo2docker (uid 1000, jovyan, as on Binder) ..."
.venv/bin/jupyter-repo2docker --no-run --user-id 1000 --user-name jovyan \
    --image-name "$image:$tag" ${push:+--push} "$src"
echo "built $image:$tag; in deploy/hub/z2jh-values.yaml: singleuser.image.name=$image, tag=$tag"
