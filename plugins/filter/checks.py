"""flasky.deploy.failed_checks: the messages of a role's failed input checks, for one assert.

Every role's tasks/validate.yml states its checks as a list of
``{var, value, ok, msg}``; one ``assert`` over ``checks | flasky.deploy.failed_checks`` names every
setting that fails (a loop of asserts costs one task run per setting). A check passes only when
``ok`` is the boolean ``True``: anything else (``False``, a string, a missing key) fails closed.
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

DOCUMENTATION = """
name: failed_checks
short_description: The messages of the input checks that did not pass
description:
  - Takes a list of checks C({var, value, ok, msg}) and returns one message per check whose C(ok) is
    not the boolean C(true), C("<var> <msg>; got <value>."), the value shortened to O(width) characters.
options:
  _input:
    description: The checks.
    type: list
    elements: dict
    required: true
  width:
    description: The longest value shown, in characters.
    type: int
    default: 100
"""

EXAMPLES = """
- name: Check the settings
  ansible.builtin.assert:
    that: __invalid | length == 0
    fail_msg: "{{ __invalid | join(' ') }}"
    quiet: true
  vars:
    __invalid: "{{ __checks | flasky.deploy.failed_checks }}"
    __checks:
      - {var: app_port, value: "{{ app_port }}", ok: "{{ app_port | int in range(1, 65536) }}",
         msg: must be a port from 1 to 65535}
"""

RETURN = """
_value:
  description: One message per failed check, in the order of the checks; empty when all passed.
  type: list
  elements: str
"""


def _shortened(value, width):
    text = " ".join(to_text(value, errors="surrogate_or_replace").splitlines())
    return text if len(text) <= width else text[:max(width - 3, 0)].rstrip() + "..."


def failed_checks(checks, width=100):
    if not isinstance(checks, (list, tuple)):
        raise AnsibleFilterError(f"failed_checks expects a list of checks, got {type(checks).__name__}")
    messages = []
    for check in checks:
        if not isinstance(check, dict) or "var" not in check or "msg" not in check:
            raise AnsibleFilterError(f"failed_checks: a check needs var and msg, got {check!r:.100}")
        if check.get("ok") is not True:
            messages.append(f"{check['var']} {check['msg']}; got {_shortened(check.get('value', ''), int(width))}.")
    return messages


class FilterModule:
    def filters(self):
        return {"failed_checks": failed_checks}
