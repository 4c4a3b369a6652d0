"""The collection's `releases` module, run as Ansible runs it (JSON arguments in, JSON result out),
on a scratch release layout of this machine."""

import json
import os
import subprocess
import sys
from pathlib import Path

MODULE = Path(__file__).resolve().parent.parent / "plugins" / "modules" / "releases.py"


def read(root, scratch):
    argfile = scratch / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"root": str(root)}}))
    done = subprocess.run([sys.executable, str(MODULE), str(argfile)], capture_output=True, text=True)
    return json.loads(done.stdout)


def release(root, name, mtime, complete=True):
    path = root / "releases" / name
    path.mkdir(parents=True)
    if complete:
        (path / ".release").write_text(name + "\n")
        os.utime(path / ".release", (mtime, mtime))
    os.utime(path, (mtime, mtime))
    return path


def test_a_missing_root_is_an_empty_layout(tmp_path):
    result = read(tmp_path / "srv" / "app", tmp_path)
    assert not result.get("failed") and not result["changed"]
    assert [result[key] for key in ("current", "current_path", "installed", "releases", "bundles", "history")] \
        == ["", "", [], [], [], []]


def test_reads_current_releases_bundles_and_history(tmp_path):
    root = tmp_path / "app"
    old = release(root, "1.0.0", 1000)
    new = release(root, "1.1.0", 2000)
    half = release(root, "1.2.0", 3000, complete=False)  # an interrupted install
    (root / "current").symlink_to(old)
    (root / "dist").mkdir()
    for name, mtime in (("1.0.0.tar", 1000), ("1.1.0.tar", 2000), ("notes.txt", 3000)):
        (root / "dist" / name).write_text("x")
        os.utime(root / "dist" / name, (mtime, mtime))
    (root / "releases.log").write_text("2026-01-01T00:00:00Z 1.0.0\n2026-01-02T00:00:00Z 1.1.0\n\n"
                                       "2026-01-03T00:00:00Z 1.0.0\n")

    result = read(root, tmp_path)
    assert result["current"] == "1.0.0" and result["current_path"] == str(old)
    assert result["installed"] == ["1.1.0", "1.0.0"], "complete releases only, newest first"
    assert result["releases"] == [str(half), str(new), str(old)], "every release directory, newest first"
    assert result["bundles"] == [str(root / "dist" / "1.1.0.tar"), str(root / "dist" / "1.0.0.tar")]
    assert result["history"] == ["1.0.0", "1.1.0", "1.0.0"]
