"""Lynis' hardening index of a host (the `edge` and `cluster` scenarios' tests): Debian's lynis,
`--quick`, installed first when it is missing (without its recommendations: no compiler comes
with it)."""

import re

AUDIT = "lynis audit system --quick --no-colors --no-log 2>/dev/null"
INSTALL = ("command -v lynis >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
           "--no-install-recommends lynis >/dev/null 2>&1 || { apt-get update -qq && "
           "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lynis; } >/dev/null")


def lynis_index(run):
    """The index; `run` runs a shell command on the host, as root, and returns an object with
    `stdout` and `stderr` (testinfra's `host.run`, or a `subprocess.run` wrapper)."""
    out = run(f"{INSTALL} && {AUDIT}")
    match = re.search(r"Hardening index : (\d+)", out.stdout)
    assert match, (out.stdout[-1500:], out.stderr[-500:])
    return int(match.group(1))
