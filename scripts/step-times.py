"""Pass molecule's output through and print each step's time after it ("=== <scenario> <step> took N s").

Used by `make molecule` so that CI's log shows where a scenario's time goes:
    molecule test -s default 2>&1 | python scripts/step-times.py
"""

import re
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STEP = re.compile(r"INFO\s+(\S+) ➜ (\w+): (Executing|Executed)")


def main() -> None:
    started: dict[tuple[str, str], float] = {}
    for line in sys.stdin:
        sys.stdout.write(line)
        match = STEP.search(ANSI.sub("", line))
        if not match:
            continue
        scenario, step, what = match.groups()
        if what == "Executing":
            started[(scenario, step)] = time.monotonic()
        elif (scenario, step) in started:
            took = time.monotonic() - started.pop((scenario, step))
            sys.stdout.write(f"=== {scenario} {step} took {took:.0f} s\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
