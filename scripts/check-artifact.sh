#!/usr/bin/env bash
# Fail when the built collection ships development clutter (tests, lab, app tests, venv).
set -euo pipefail
artifact=${1:?usage: check-artifact.sh flasky-deploy-X.Y.Z.tar.gz}
list=$(tar -tzf "$artifact")
bad=$(grep -E '(^|/)(molecule|tests|lab|benchmarks|scripts|\.venv|\.git|\.collections|__pycache__|\.pytest_cache)(/|$)|\.egg-info' <<<"$list" \
  | grep -v -E '^roles/[^/]+/tests/?$' || true)
if [ -n "$bad" ]; then
  echo "$artifact ships files that must stay out of it:" >&2
  echo "$bad" >&2
  exit 1
fi
for must in MANIFEST.json FILES.json README.md roles/base/tasks/main.yml meta/runtime.yml; do
  grep -qx "$must" <<<"$list" || { echo "$artifact lacks $must" >&2; exit 1; }
done
echo "$artifact: $(wc -l <<<"$list") entries, no test, lab or app-test clutter"
