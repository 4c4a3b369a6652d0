"""The collection's `failed_checks` filter (every role's tasks/validate.yml), called directly."""

import importlib.util
import pathlib

import pytest
from ansible.errors import AnsibleFilterError

_PATH = pathlib.Path(__file__).resolve().parent.parent / "plugins" / "filter" / "checks.py"
_SPEC = importlib.util.spec_from_file_location("flasky_checks", _PATH)
checks = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(checks)


def check(ok, var="app_port", value="70000", msg="must be a port"):
    return {"var": var, "value": value, "ok": ok, "msg": msg}


def test_only_the_boolean_true_passes():
    """False, a string (an unrendered template), None or a missing ok all fail: closed, not open."""
    cases = [check(True), check(False), check("True"), check("{{ x }}"), check(None), check(1),
             {"var": "v", "value": "x", "msg": "m"}]
    assert len(checks.failed_checks(cases)) == len(cases) - 1


def test_each_message_names_the_variable_and_the_value_shortened():
    messages = checks.failed_checks([check(False), check(False, var="name", value="x" * 500, msg="is bad")], width=40)
    assert messages[0] == "app_port must be a port; got 70000."
    assert messages[1].startswith("name is bad; got xxx") and messages[1].endswith("x....")
    assert len(messages[1]) < len("name is bad; got .") + 40 + 1


def test_a_newline_in_a_value_does_not_start_a_line_of_its_own():
    assert "\n" not in checks.failed_checks([check(False, value="a\nb")])[0]


def test_all_passed_is_an_empty_list():
    assert checks.failed_checks([check(True), check(True)]) == []


@pytest.mark.parametrize("bad", [{"var": "x"}, "not a check", None])
def test_a_malformed_check_is_an_error_not_a_pass(bad):
    with pytest.raises(AnsibleFilterError):
        checks.failed_checks([bad])
    with pytest.raises(AnsibleFilterError):
        checks.failed_checks(bad if bad is not None else "x")
