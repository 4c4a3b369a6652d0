"""Refuse secrets that are not secret: too short, a placeholder, or published.

    python3 check_secrets.py COLLECTION_DIR [--allow-known] < {"deploy_secret_key": ["secret_key", "..."], ...}

stdin: a JSON object {setting name: [kind, value]}; kind is secret_key, db_password or password.
A value is refused when it is shorter than its kind's policy, looks like a placeholder, or (unless
--allow-known, for the lab and the tests) appears in any text file of the collection: the lab's
and the tests' values, the README's examples, an old example vault. Prints one JSON object
{"refused": {setting name: reason}} (never a value) and exits 3 when anything is refused.
"""

import json
import os
import re
import sys

MINIMUM = {"secret_key": 32, "db_password": 16, "password": 12}
PLACEHOLDER = re.compile(r"change.?me|placeholder|example|^(x+|password\d*|secret\d*|admin\d*|test\d*|default)$",
                         re.IGNORECASE)
SKIP = {".git", ".venv", ".tools", ".collections", ".ansible", "node_modules", "__pycache__", ".pytest_cache",
        ".ruff_cache"}


def published_texts(root):
    """(path relative to root, text) of every text file of the collection."""
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP]
        for name in files:
            path = os.path.join(top, name)
            try:
                if os.path.getsize(path) > 2_000_000:
                    continue
                with open(path, encoding="utf-8") as handle:
                    yield os.path.relpath(path, root), handle.read()
            except (OSError, UnicodeDecodeError):
                continue


def main(root, allow_known):
    settings = json.load(sys.stdin)
    refused = {}
    for name, (kind, value) in settings.items():
        value = "" if value is None else str(value)
        if len(value) < MINIMUM[kind]:
            refused[name] = f"shorter than {MINIMUM[kind]} characters"
        elif PLACEHOLDER.search(value):
            refused[name] = "a placeholder"
    if not allow_known:
        pending = {name: str(value) for name, (_, value) in settings.items() if name not in refused and value}
        for path, text in published_texts(root):
            for name, value in list(pending.items()):
                if value in text:
                    refused[name] = f"published: it is written in plain text in {path}"
                    del pending[name]
            if not pending:
                break
    print(json.dumps({"refused": refused}))
    return 3 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--allow-known" in sys.argv[2:]))
