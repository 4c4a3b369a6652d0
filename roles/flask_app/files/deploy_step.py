"""Run the app's deploy step (one or more `flask` commands) and say truthfully whether it changed
anything, even when the commands print nothing.

    <root>/bin/run --release DIR python <root>/bin/deploy_step.py FLASK_APP '["db upgrade", "seed"]' REGEX

Run with the release's own Python (its virtualenv), in the release directory, as the app user.
Prints one JSON line last: {"changed": bool, "before": [...], "after": [...], "output": "..."}.
`changed` is true when the Alembic revision of the database moved (apps with Flask-Migrate or
Alembic set up on the app) or when the commands' output matches REGEX (for other apps, or for
work that is not a migration, e.g. `flask deploy` printing `changed=true`).
"""

import contextlib
import io
import json
import re
import shlex
import sys

from flask.cli import ScriptInfo, cli, load_dotenv


def revisions(target):
    """The database's Alembic revision(s); None when the app has no Flask-Migrate."""
    app = ScriptInfo(app_import_path=target).load_app()
    migrate = app.extensions.get("migrate")
    if migrate is None:
        return None
    from alembic.runtime.migration import MigrationContext

    with app.app_context():
        engine = migrate.db.engine
        with engine.connect() as connection:
            heads = sorted(MigrationContext.configure(connection).get_current_heads())
        engine.dispose()
    return heads


def run_command(target, command):
    """`flask --app TARGET <command>` in this process; (exit code, output)."""
    buffer = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            result = cli.main(args=["--app", target, *shlex.split(command)], prog_name="flask",
                              standalone_mode=False)
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # noqa: BLE001 - reported, and the step fails
            print(f"{type(exc).__name__}: {exc}")
            code = 1
    return code, buffer.getvalue()


def main(target, commands, regex):
    load_dotenv()
    before = revisions(target)
    output = []
    for command in commands:
        code, text = run_command(target, command)
        output.append(f"$ flask {command}\n{text}")
        if code != 0:
            print("".join(output))
            print(json.dumps({"failed": True, "command": command, "rc": code}))
            return 1
    after = revisions(target)
    text = "".join(output)
    changed = before != after or bool(regex and re.search(regex, text))
    print(text)
    print(json.dumps({"changed": changed, "before": before, "after": after}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""))
