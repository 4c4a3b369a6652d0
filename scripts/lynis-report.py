#!/usr/bin/env python3
"""Lynis' hardening index of running containers, and where each one loses points.

    python3 scripts/lynis-report.py flasky-lab-web flasky-lab-app1 ...   (default: the lab's five)

Installs Debian's lynis in each container (from the Debian mirror), runs
`lynis audit system --quick`, and prints the index and the tests that lost points, largest first.
Used to measure the `hardening` role on the lab (README of the role); the edge scenario asserts
its own host's figure.
"""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

LAB = ["flasky-lab-web", "flasky-lab-app1", "flasky-lab-app2", "flasky-lab-db", "flasky-lab-log"]
AUDIT = ("command -v lynis >/dev/null || (apt-get update -qq && apt-get install -y -qq lynis) >/dev/null 2>&1; "
         "lynis audit system --quick --no-colors >/dev/null 2>&1; cat /var/log/lynis.log")


def audit(container):
    log = subprocess.run(["docker", "exec", container, "bash", "-c", AUDIT],
                         capture_output=True, text=True, check=True).stdout
    index = re.search(r"Hardening index : \[(\d+)\]", log)
    lost, test = {}, None
    for line in log.splitlines():
        started = re.search(r"Performing test ID (\S+)", line)
        if started:
            test = started.group(1)
        points = re.search(r"Hardening: assigned partial number of hardening points \((\d+) of (\d+)\)", line)
        if points and test:
            got, best = int(points.group(1)), int(points.group(2))
            lost[test] = lost.get(test, 0) + best - got
    return container, (int(index.group(1)) if index else None), lost


def main(containers):
    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        results = list(pool.map(audit, containers))
    for container, index, lost in results:
        worst = sorted(((points, test) for test, points in lost.items() if points), reverse=True)
        print(f"{container}: hardening index {index}; lost: "
              + ", ".join(f"{test} {points}" for points, test in worst))
    return 0 if all(index is not None for _, index, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or LAB))
