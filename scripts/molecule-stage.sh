#!/usr/bin/env bash
# molecule-stage.sh SCENARIO...: `molecule test -s SCENARIO` for each, side by side, each step's
# time and CPU printed (scripts/step-times.py), then "=== scenario S passed in N s"; the status
# is the first failure's, or 0.
#
# `make molecule` runs its stages one after the other (SCENARIOS="roles+default cluster": the
# scenarios joined by "+" are one stage). One scenario streams its output; several each write
# theirs to a file, printed whole when it ends: a passed scenario's as soon as it ends, a failed
# one's last, so that the log's last lines are what failed. Side by side pays where a scenario
# waits (a lost host's writer, a health gate, a service's restart) while the other computes: two
# scenarios' CPU-bound steps only share the two cores.
set -uo pipefail
cd "$(dirname "$0")/.."

# scenario NAME: molecule test of one scenario, timed; its status.
scenario() {
  local name=$1 start rc
  start=$(date +%s)
  echo "=== molecule test -s $name"
  molecule test -s "$name" 2>&1 | python -u scripts/step-times.py
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then
    echo "=== scenario $name passed in $(( $(date +%s) - start )) s"
  else
    echo "=== scenario $name FAILED (rc $rc) after $(( $(date +%s) - start )) s"
  fi
  return "$rc"
}

if [ $# -eq 1 ]; then
  scenario "$1"
  exit
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A names
for name in "$@"; do
  scenario "$name" > "$logs/$name.log" 2>&1 &
  names[$!]=$name
done
echo "=== side by side: $* (each one's output follows when it ends)"
failed=()
status=0
while [ "${#names[@]}" -gt 0 ]; do
  wait -n -p done "${!names[@]}"
  rc=$?
  name=${names[$done]}
  unset "names[$done]"
  if [ "$rc" -eq 0 ]; then
    cat "$logs/$name.log"
  else
    failed+=("$name")
    [ "$status" -ne 0 ] || status=$rc
  fi
done
for name in "${failed[@]}"; do
  cat "$logs/$name.log"
done
exit "$status"
