#!/usr/bin/env bash
# `make test` (and so CI's .ci/run): prepare the machine, build the collection, then run the
# controller-side checks (lint, app tests, role input tests) BESIDE the molecule scenarios, on
# idle CPU only (idle_cpu_cgroup below): the scenarios spend much of their time waiting (on
# services, on health gates, on a writer's rows), and the checks fill that idle time instead of
# running first on their own (they used to add about three minutes). They start when the first
# scenario's side effect starts (its converge and idempotence keep both cores busy: beside them
# the checks slowed them by up to 100 s). Each phase prints its time; the checks' output is
# printed whole when they end, and a failed check stops the scenarios at once (the run fails
# either way; the log's last lines say what failed).
set -uo pipefail
cd "$(dirname "$0")/.."
make() { command make --no-print-directory "$@"; }

# timed NAME COMMAND...: run the command, then print "=== NAME took N s"; its status.
timed() {
  local name=$1 start rc
  shift
  start=$(date +%s)
  "$@"
  rc=$?
  echo "=== $name took $(( $(date +%s) - start )) s"
  return "$rc"
}

timed setup make setup || exit 1
timed build make build || exit 1

checks_log=$(mktemp)
marks=$(mktemp -d)
trap 'rm -rf "$checks_log" "$marks"' EXIT
set -m  # each background job in its own process group, so that the scenarios can be stopped whole
FLASKY_STEP_MARKS=$marks timed molecule make molecule &
molecule=$!
# idle_cpu_cgroup: a CPU cgroup whose processes run only on CPU time nothing else wants (cpu.idle),
# or nothing. `nice` is not enough: the kernel groups the processes of a session (autogroup) and
# each container is a group of its own, so the checks' session competed with each container as an
# equal, niced or not (beside the `roles` side effect they slowed it from 217 s to 450 s). Needs
# root and a cgroup v1 `cpu` hierarchy or cgroup v2 with the cpu controller; else nice alone.
idle_cpu_cgroup() {
  local dir
  for dir in /sys/fs/cgroup/cpu /sys/fs/cgroup; do
    [ -e "$dir/cpu.idle" ] || [ -e "$dir/cgroup.subtree_control" ] || continue
    mkdir -p "$dir/flasky-checks" 2>/dev/null && echo 1 > "$dir/flasky-checks/cpu.idle" 2>/dev/null \
      && echo "$dir/flasky-checks" && return 0
  done
  return 0
}

# The checks wait for a side effect (or a verify) to start, or for the scenarios to end.
checks_after_marks() {
  local cgroup
  while kill -0 "$molecule" 2>/dev/null && ! compgen -G "$marks/*-side_effect.started" > /dev/null \
      && ! compgen -G "$marks/*-verify.started" > /dev/null; do
    sleep 2
  done
  cgroup=$(idle_cpu_cgroup)
  if [ -n "$cgroup" ] && echo "$BASHPID" > "$cgroup/cgroup.procs" 2>/dev/null; then
    echo "=== checks run on idle CPU only ($cgroup)"
  fi
  timed checks nice -n 19 make --no-print-directory checks
}
checks_after_marks > "$checks_log" 2>&1 &
checks=$!

# Whichever ends first: the checks (a few minutes) nearly always. A failure of either stops the
# other, so that the log's last lines are what failed.
wait -n -p first "$checks" "$molecule"
rc=$?
if [ "$first" = "$checks" ]; then
  cat "$checks_log"
  if [ "$rc" -ne 0 ]; then
    echo "=== the checks failed: the molecule scenarios are stopped (the checks' failures are above)"
    kill -TERM -- "-$molecule" 2>/dev/null
    wait "$molecule"
    exit "$rc"
  fi
  wait "$molecule"
  exit $?
fi
if [ "$rc" -ne 0 ]; then
  kill -TERM -- "-$checks" 2>/dev/null
  wait "$checks"
  exit "$rc"
fi
wait "$checks"
rc=$?
cat "$checks_log"
exit "$rc"
