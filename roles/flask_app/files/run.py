#!/usr/bin/python3
"""Run a command of the app with its environment, from a release directory.

    <root>/bin/run [--release DIR] COMMAND [ARG...]

Installed by flasky.deploy.flask_app as <root>/bin/run. Every process of the app goes through
it (gunicorn, workers, timers, the deploy step): it loads <root>/shared/.env into the
environment (values already set in the environment win), puts the release's virtualenv first on
PATH, changes to the release directory (`current`, resolved once, or --release) and replaces
itself with COMMAND. The app then finds its files, its migrations and its .env relative to the
working directory, as it does on a developer's machine.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def unquote(value):
    """The value of a dotenv line: 'single' (\\ and \\' escaped, as the role writes it), "double"
    (backslash escapes) or bare (up to an inline comment)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value.split(" #", 1)[0].strip()


def read_env(path):
    env = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                match = LINE.match(line)
                if match and not line.lstrip().startswith("#"):
                    env[match.group(1)] = unquote(match.group(2))
    except FileNotFoundError:
        pass
    return env


def main(argv):
    release = os.path.join(ROOT, "current")
    if len(argv) > 2 and argv[1] == "--release":
        release, argv = argv[2], argv[2:]
    if len(argv) < 2:
        sys.exit(__doc__)
    release = os.path.realpath(release)
    for name, value in read_env(os.path.join(ROOT, "shared", ".env")).items():
        os.environ.setdefault(name, value)
    venv = os.path.join(release, "venv")
    os.environ["VIRTUAL_ENV"] = venv
    os.environ["PATH"] = os.path.join(venv, "bin") + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
    os.environ.pop("PYTHONHOME", None)
    os.chdir(release)
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv)
