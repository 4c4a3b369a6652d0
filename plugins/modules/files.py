#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: flasky.deploy developers
# MIT License (see the collection's galaxy.yml)
"""Write a role's small files, directories and removals in one module call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: files
short_description: Manage many small files, directories and removals in one call
description:
  - Brings a list of paths to their stated content, owner, group and mode in one module call, in
    the list's order (a directory listed before a file in it is there when the file is written).
  - A role's configuration files usually cost one C(template) or C(copy) task each, and each of
    those is two or three round trips to the host (stat, then copy or file). This module checks and
    changes every entry in one round trip, which is what makes a no-op run of a site take seconds.
  - Files are written atomically (a temporary file in the same directory, its owner and mode set,
    then renamed over the old one), so a reader never sees half a file.
  - Content comes from the task (render templates with the C(ansible.builtin.template) lookup).
    Put C(no_log) on a task whose content is secret, as with C(copy).
version_added: 0.2.0
author: flasky.deploy developers
options:
  files:
    description: The entries, handled in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path; no C(..) component.
        type: path
        required: true
      state:
        description:
          - C(file) writes O(files[].content); C(directory) creates a directory (missing parents
            as root-owned 0755 directories); C(link) makes a symbolic link to O(files[].src);
            C(absent) removes a file, a link or an empty directory.
        type: str
        choices: [file, directory, link, absent]
        default: file
      src:
        description: The target of the link (C(state=link)).
        type: str
      content:
        description: The file's content (C(state=file)).
        type: str
        default: ''
      owner:
        description: The owner's name; default O(owner).
        type: str
      group:
        description: The group's name; default O(group).
        type: str
      mode:
        description: Octal mode as a string, e.g. C("0644"); required for files and directories.
        type: raw
      validate:
        description:
          - A command run on the new content before it replaces the file; C(%s) stands for the
            temporary file. A failure leaves the old file in place and fails the task.
        type: str
      follow:
        description:
          - When O(files[].path) is a symbolic link (C(state=file)), write the file it points to (its
            resolved path; a dangling link's target is created) instead of failing. For files a
            distribution may keep behind a link (Debian 13's C(/etc/default/locale) points to
            C(/etc/locale.conf)).
        type: bool
        default: false
  owner:
    description: The owner of the entries that name none.
    type: str
    default: root
  group:
    description: The group of the entries that name none.
    type: str
    default: root
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Write the site's settings
  flasky.deploy.files:
    files:
      - {path: /etc/example, state: directory, mode: "0755"}
      - path: /etc/example/example.conf
        content: "{{ lookup('ansible.builtin.template', 'etc/example/example.conf.j2') }}"
        mode: "0644"
      - {path: /etc/example/old.conf, state: absent}
  notify: Reload example
"""

RETURN = r"""
changed_paths:
  description: The paths that changed (or would change in check mode), in the list's order.
  returned: always
  type: list
  elements: str
"""

import grp
import os
import pwd
import shlex
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

DIFF_LIMIT = 65536


def _ids(module, entry):
    try:
        uid = pwd.getpwnam(entry["owner"]).pw_uid
    except KeyError:
        module.fail_json(msg="%s: no user named %r" % (entry["path"], entry["owner"]))
    try:
        gid = grp.getgrnam(entry["group"]).gr_gid
    except KeyError:
        module.fail_json(msg="%s: no group named %r" % (entry["path"], entry["group"]))
    return uid, gid


def _mode(module, entry):
    mode = entry.get("mode")
    if mode is None:
        module.fail_json(msg="%s: mode is required for state=%s" % (entry["path"], entry["state"]))
    if isinstance(mode, int):  # an unquoted YAML 0644 arrives as the number 420
        value = mode
    else:
        try:
            value = int(str(mode), 8)
        except ValueError:
            value = -1
    if not 0 <= value <= 0o7777:
        module.fail_json(msg="%s: mode %r is not an octal mode" % (entry["path"], mode))
    return value


def _attrs_differ(st, uid, gid, mode):
    return st.st_uid != uid or st.st_gid != gid or stat.S_IMODE(st.st_mode) != mode


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _diff_text(data):
    if len(data) > DIFF_LIMIT or b"\0" in data:
        return "(binary or larger than %d bytes)\n" % DIFF_LIMIT
    return to_native(data, errors="surrogate_or_replace")


class Files:
    """Brings each entry to its state; records what changed."""

    def __init__(self, module):
        self.module = module
        self.check = module.check_mode
        self.changed = []
        self.diffs = []

    def run(self, entries):
        for entry in entries:
            path = entry["path"]
            if not os.path.isabs(path) or ".." in path.split("/"):
                self.module.fail_json(msg="%r: an absolute path without '..' is required" % path)
            getattr(self, "_" + entry["state"])(entry)
        return self.changed

    def _record(self, path, before=None, after=None):
        self.changed.append(path)
        if self.module._diff and (before is not None or after is not None):
            self.diffs.append({"before_header": path, "after_header": path,
                               "before": before or "", "after": after or ""})

    def _fix_attrs(self, path, st, uid, gid, mode):
        """Owner, group and mode of an existing path whose content is right."""
        if _attrs_differ(st, uid, gid, mode):
            self._record(path)
            if not self.check:
                os.chown(path, uid, gid)
                os.chmod(path, mode)

    def _directory(self, entry):
        path = entry["path"]
        uid, gid = _ids(self.module, entry)
        mode = _mode(self.module, entry)
        st = _lstat(path)
        if st is not None and not stat.S_ISDIR(st.st_mode):
            self.module.fail_json(msg="%s exists and is not a directory" % path)
        if st is None:
            self._record(path, "(absent)\n", "(directory)\n")
            if not self.check:
                os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
                os.mkdir(path, mode)
                os.chown(path, uid, gid)
                os.chmod(path, mode)
        else:
            self._fix_attrs(path, st, uid, gid, mode)

    def _absent(self, entry):
        path = entry["path"]
        if not os.path.lexists(path):
            return
        self._record(path, "(present)\n", "(absent)\n")
        if self.check:
            return
        if os.path.isdir(path) and not os.path.islink(path):
            try:
                os.rmdir(path)
            except OSError as err:
                self.module.fail_json(msg="%s: %s (only an empty directory is removed)" % (path, err))
        else:
            os.unlink(path)

    def _link(self, entry):
        path, target = entry["path"], entry.get("src")
        if not target:
            self.module.fail_json(msg="%s: src is required for state=link" % path)
        current = os.readlink(path) if os.path.islink(path) else None
        if current == target:
            return
        if current is None and os.path.lexists(path) and os.path.isdir(path):
            self.module.fail_json(msg="%s exists and is a directory" % path)
        self._record(path, "(link to %s)\n" % current if current else "(absent)\n", "(link to %s)\n" % target)
        if self.check:
            return
        tmp = os.path.join(os.path.dirname(path), ".flasky-files.%d.%s" % (os.getpid(), os.path.basename(path)))
        os.symlink(target, tmp)
        os.replace(tmp, path)

    def _file(self, entry):
        path = entry["path"]
        if entry.get("follow") and os.path.islink(path):
            path = os.path.realpath(path)
        uid, gid = _ids(self.module, entry)
        mode = _mode(self.module, entry)
        data = to_bytes(entry["content"], errors="surrogate_or_strict")
        st = _lstat(path)
        if st is not None and not stat.S_ISREG(st.st_mode):
            self.module.fail_json(msg="%s exists and is not a regular file" % path)
        old = _read(path) if st is not None else None
        if old == data:
            self._fix_attrs(path, st, uid, gid, mode)
            return
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            self.module.fail_json(msg="%s: the directory %s does not exist" % (path, directory))
        self._record(path, "(absent)\n" if old is None else _diff_text(old), _diff_text(data))
        if self.check:
            return
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=".flasky-files.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chown(tmp, uid, gid)
            os.chmod(tmp, mode)
            if entry.get("validate"):
                self._validate(entry, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _validate(self, entry, tmp):
        command = entry["validate"]
        if "%s" not in command:
            self.module.fail_json(msg="%s: validate must contain %%s" % entry["path"])
        argv = [tmp if word == "%s" else word.replace("%s", tmp) for word in shlex.split(command)]
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            self.module.fail_json(msg="%s: the new content failed validation (%s)"
                                  % (entry["path"], command), rc=rc, stdout=out, stderr=err)


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list", "elements": "dict", "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "state": {"type": "str", "default": "file", "choices": ["file", "directory", "link", "absent"]},
                    "src": {"type": "str"},
                    "content": {"type": "str", "default": ""},
                    "owner": {"type": "str"},
                    "group": {"type": "str"},
                    "mode": {"type": "raw"},
                    "validate": {"type": "str"},
                    "follow": {"type": "bool", "default": False},
                },
            },
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
        },
        supports_check_mode=True,
    )
    runner = Files(module)
    entries = [{**entry, "owner": entry["owner"] or module.params["owner"],
                "group": entry["group"] or module.params["group"]} for entry in module.params["files"]]
    changed = runner.run(entries)
    result = {"changed": bool(changed), "changed_paths": changed}
    if module._diff and runner.diffs:
        result["diff"] = runner.diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
