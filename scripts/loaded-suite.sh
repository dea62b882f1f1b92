#!/usr/bin/env bash
# The test suite as a busy laptop or a shared CI machine runs it: a fresh clone, two CPU
# burners beside it, `npm test` several times in a row, and a summary. Run it before a release.
#
#   scripts/loaded-suite.sh            # 3 runs of this checkout's HEAD
#   scripts/loaded-suite.sh 5 <repo>   # 5 runs of another clone's HEAD
#
# The two burners differ on purpose: `yes > /dev/null` makes a system call per line and so
# takes the kernel's locks and caches too; `while :; do :; done` only computes. Both run at
# normal priority, one per core of a 2-core machine. Each run is bounded (RUN_TIMEOUT, default
# 15 minutes); logs are kept in the printed directory. Exits non-zero unless every run passed.
set -euo pipefail

runs=${1:-3}
repo=$(cd "${2:-$(dirname "$0")/..}" && pwd)
run_timeout=${RUN_TIMEOUT:-900}
work=$(mktemp -d "${TMPDIR:-/tmp}/echo-loaded-suite.XXXXXX")
burners=()

stop_burners() {
  for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_burners EXIT

echo "loaded-suite: cloning $repo into $work/clone" >&2
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
echo "loaded-suite: $(git log -1 --format='%h %s' | cut -c1-100)" >&2
npm ci --no-audit --no-fund --loglevel=error >"$work/npm-ci.log" 2>&1

yes >/dev/null &
burners+=($!)
bash -c 'while :; do :; done' &
burners+=($!)
echo "loaded-suite: burners running (yes: ${burners[0]}, pure CPU: ${burners[1]}); $runs runs of npm test" >&2

summary=()
failed=0
for run in $(seq 1 "$runs"); do
  log="$work/run-$run.log"
  start=$(date +%s)
  if CI=true timeout "$run_timeout" npm test </dev/null >"$log" 2>&1; then status=passed; else status="FAILED (exit $?)"; failed=1; fi
  seconds=$(($(date +%s) - start))
  # vitest's closing lines, without colours: "Test Files  75 passed (75)", "Tests  540 passed (540)".
  counts=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *(Test Files|Tests) ' | tr -s ' ' | paste -sd ';' - || true)
  line="run $run: $status in ${seconds} s;${counts:- no vitest summary}"
  summary+=("$line")
  echo "loaded-suite: $line" >&2
  if [ "$status" != passed ]; then
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *(FAIL|×) ' | sort -u | head -n 20 >&2 || true
  fi
done

echo "loaded-suite: summary ($(nproc) cores, logs in $work)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
