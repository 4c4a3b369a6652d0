"""Pass molecule's output through, print each step's time after it ("=== <scenario> <step> took N s",
with the CPU time the whole machine spent meanwhile: "(CPU busy M s of C cores x N s)"), and, when a
step fails, repeat what failed at the very end of the output.

Used by `make molecule` so that CI's log shows where a scenario's time goes and, in its last lines
(often all a CI summary keeps), which test or task failed:
    molecule test -s roles 2>&1 | python scripts/step-times.py
With FLASKY_STEP_MARKS=<directory>, each step that starts also leaves an empty file
<scenario>-<step>.started there (scripts/test.sh starts the checks when a side effect starts).
"""

import os
import pathlib
import re
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STEP = re.compile(r"INFO\s+(\S+) ➜ (\w+): (Executing|Executed)")
FAILED_STEP = re.compile(r"(\S+) ➜ (\w+): Executed: Failed")
# Molecule boxes and wraps the output of the commands it runs: the line's text is after the bar.
BOX = re.compile(r"^\s*│\s?")
# pytest's failed tests and assertion lines, ansible's failed tasks: with the next lines (molecule
# wraps long lines) and, for ansible, the task they belong to.
FAILURE = re.compile(r"\bFAILED\b(?! - RETRYING)|^E\s{2,}|^E$|^fatal: |^failed: |Error: ")
WRAPPED = 2
KEEP = 60  # lines repeated at the end
MARKS = os.environ.get("FLASKY_STEP_MARKS")  # where each step's start is marked, when set
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_busy() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores; /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


def main() -> None:
    started: dict[tuple[str, str], tuple[float, float]] = {}
    cores = os.cpu_count() or 1
    recent: list[str] = []  # failure lines of the step that runs now
    failures: list[str] = []
    reported: set[tuple[str, str]] = set()
    task, follow = "", 0
    for line in sys.stdin:
        sys.stdout.write(line)
        text = BOX.sub("", ANSI.sub("", line)).rstrip()
        if text.startswith("TASK ["):
            task = text
        if FAILURE.search(text):
            if task and text.startswith(("fatal: ", "failed: ")):
                recent.append(task)
                task = ""
            recent.append(text)
            follow = WRAPPED
        elif follow:
            recent.append(text)
            follow -= 1
        failed = FAILED_STEP.search(text)
        if failed and failed.groups() not in reported:
            reported.add(failed.groups())
            failures += [f"--- {failed.group(1)} {failed.group(2)} failed:"] + recent[-KEEP:]
        match = STEP.search(text)
        if match:
            scenario, step, what = match.groups()
            if what == "Executing":
                started[(scenario, step)] = (time.monotonic(), cpu_busy())
                recent, task = [], ""
                if MARKS:
                    (pathlib.Path(MARKS) / f"{scenario}-{step}.started").touch()
            elif (scenario, step) in started:
                start, busy = started.pop((scenario, step))
                took, busy = time.monotonic() - start, cpu_busy() - busy
                sys.stdout.write(f"=== {scenario} {step} took {took:.0f} s"
                                 f" (CPU busy {busy:.0f} s of {cores} cores x {took:.0f} s)\n")
        sys.stdout.flush()
    if failures:
        sys.stdout.write("=== what failed (repeated from above)\n" + "\n".join(failures) + "\n")


if __name__ == "__main__":
    main()
