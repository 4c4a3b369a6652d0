"""The collection's `files` module, run as Ansible runs it (JSON arguments in, JSON result out),
on a scratch directory of this machine."""

import grp
import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parent.parent / "plugins" / "modules" / "files.py"
OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def run(tmp_path, files, check=False, diff=False, **call):
    args = {"files": files if call else [{"owner": OWNER, "group": GROUP, **entry} for entry in files],
            "_ansible_check_mode": check, "_ansible_diff": diff, **call}
    argfile = tmp_path / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    done = subprocess.run([sys.executable, str(MODULE), str(argfile)], capture_output=True, text=True)
    return json.loads(done.stdout)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_writes_then_changes_nothing_then_repairs_drift(tmp_path):
    conf = tmp_path / "etc" / "app.conf"
    entries = [{"path": str(tmp_path / "etc"), "state": "directory", "mode": "0750"},
               {"path": str(conf), "content": "a = 1\n", "mode": "0640"}]
    first = run(tmp_path, entries)
    assert first["changed"] and first["changed_paths"] == [str(tmp_path / "etc"), str(conf)]
    assert conf.read_text() == "a = 1\n" and mode(conf) == 0o640 and mode(tmp_path / "etc") == 0o750

    again = run(tmp_path, entries)
    assert not again["changed"] and again["changed_paths"] == []

    conf.write_text("a = 2\n")
    os.chmod(conf, 0o666)
    repaired = run(tmp_path, entries)
    assert repaired["changed_paths"] == [str(conf)]
    assert conf.read_text() == "a = 1\n" and mode(conf) == 0o640
    assert not list((tmp_path / "etc").glob(".flasky-files.*")), "no temporary file is left behind"

    os.chmod(conf, 0o666)  # the mode alone
    os.chmod(tmp_path / "etc", 0o777)
    assert run(tmp_path, entries)["changed_paths"] == [str(tmp_path / "etc"), str(conf)]
    assert mode(conf) == 0o640 and mode(tmp_path / "etc") == 0o750


def test_check_mode_reports_and_changes_nothing_with_a_diff(tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("old\n")
    os.chmod(conf, 0o644)
    result = run(tmp_path, [{"path": str(conf), "content": "new\n", "mode": "0644"}], check=True, diff=True)
    assert result["changed"] and conf.read_text() == "old\n"
    assert result["diff"] == [{"before_header": str(conf), "after_header": str(conf),
                               "before": "old\n", "after": "new\n"}]


def test_entries_without_owner_or_group_take_the_call_s(tmp_path):
    conf = tmp_path / "app.conf"
    result = run(tmp_path, [{"path": str(conf), "content": "x\n", "mode": "0600"}], owner=OWNER, group=GROUP)
    assert result["changed_paths"] == [str(conf)]
    missing = run(tmp_path, [{"path": str(conf), "content": "x\n", "mode": "0600"}],
                  owner="no-such-user-x", group=GROUP)
    assert missing.get("failed") and "no user named 'no-such-user-x'" in missing["msg"]
    entry_wins = run(tmp_path, [{"path": str(conf), "content": "x\n", "mode": "0600", "owner": OWNER}],
                     owner="no-such-user-x", group=GROUP)
    assert not entry_wins.get("failed") and not entry_wins["changed"]


def test_links_and_removals(tmp_path):
    target = tmp_path / "available.conf"
    target.write_text("x\n")
    link = tmp_path / "enabled.conf"
    gone = tmp_path / "gone.conf"
    gone.write_text("y\n")
    entries = [{"path": str(link), "state": "link", "src": str(target)},
               {"path": str(gone), "state": "absent"}]
    assert run(tmp_path, entries)["changed_paths"] == [str(link), str(gone)]
    assert os.readlink(link) == str(target) and not gone.exists()
    assert not run(tmp_path, entries)["changed"]


def test_validation_failure_keeps_the_old_file(tmp_path):
    conf = tmp_path / "app.py"
    conf.write_text("ok = 1\n")
    check = sys.executable + ' -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" %s'
    result = run(tmp_path, [{"path": str(conf), "content": "not python (\n", "mode": "0644", "validate": check}])
    assert result.get("failed") and "failed validation" in result["msg"] and str(conf) in result["msg"]
    assert conf.read_text() == "ok = 1\n"
    assert not list(tmp_path.glob(".flasky-files.*"))


@pytest.mark.parametrize("entry, message", [
    ({"path": "relative/x", "content": "", "mode": "0644"}, "absolute path"),
    ({"path": "/tmp/../etc/x", "content": "", "mode": "0644"}, "absolute path"),
    ({"path": "/tmp/flasky-files-test-x", "content": ""}, "mode is required"),
    ({"path": "/tmp/flasky-files-test-x", "content": "", "mode": "0999"}, "not an octal mode"),
    ({"path": "/tmp/flasky-files-test-x", "content": "", "mode": "0644", "owner": "no-such-user-x"}, "no user"),
    ({"path": "/tmp/flasky-files-test-x", "state": "link"}, "src is required"),
])
def test_refuses_bad_entries_naming_the_path(tmp_path, entry, message):
    result = run(tmp_path, [entry])
    assert result.get("failed") and message in result["msg"]
    assert not os.path.exists("/tmp/flasky-files-test-x")


def test_follow_writes_the_file_a_link_points_to(tmp_path):
    """As Debian 13 keeps /etc/default/locale: a link to ../locale.conf, dangling on a bare system."""
    (tmp_path / "default").mkdir()
    link = tmp_path / "default" / "locale"
    link.symlink_to("../locale.conf")
    entry = {"path": str(link), "content": "LANG=C.UTF-8\n", "mode": "0644"}

    refused = run(tmp_path, [entry])
    assert refused.get("failed") and "not a regular file" in refused["msg"]

    written = run(tmp_path, [{**entry, "follow": True}])
    assert written["changed"] and link.is_symlink(), written
    assert (tmp_path / "locale.conf").read_text() == "LANG=C.UTF-8\n" and mode(tmp_path / "locale.conf") == 0o644
    assert not run(tmp_path, [{**entry, "follow": True}])["changed"]
