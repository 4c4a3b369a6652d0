#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: flasky.deploy developers
# MIT License (see the collection's galaxy.yml)
"""Read a release layout (current, releases, bundles, activation history) in one module call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: releases
short_description: Read what a release layout serves, holds and has served, in one call
description:
  - Reads the layout the C(flask_app) role keeps under O(root) (C(current), C(releases/),
    C(dist/), C(releases.log)) and returns it. Changes nothing.
  - One round trip instead of one C(stat), C(find) or C(slurp) per item; the role reads the layout
    before it installs a release and before it activates one.
  - A release is complete (installed) when its directory holds C(.release), the file the role
    writes last; any other directory under C(releases/) is a leftover of an interrupted run.
version_added: 0.9.0
author: flasky.deploy developers
options:
  root:
    description: The layout's root directory, e.g. C(/srv/flasky). A missing root is an empty layout.
    type: path
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the release layout
  flasky.deploy.releases:
    root: /srv/flasky
  register: layout
"""

RETURN = r"""
current:
  description: The name of the release C(current) points to; empty before the first activation.
  returned: always
  type: str
current_path:
  description: The resolved path C(current) points to; empty before the first activation.
  returned: always
  type: str
installed:
  description: The complete releases' names, newest first (by the time C(.release) was written).
  returned: always
  type: list
  elements: str
releases:
  description: Every directory under C(releases/), complete or not, newest first (by mtime), as paths.
  returned: always
  type: list
  elements: str
bundles:
  description: The release bundles (C(dist/*.tar)), newest first (by mtime), as paths.
  returned: always
  type: list
  elements: str
history:
  description: The releases activated on the host, oldest first (the last field of each line of
    C(releases.log)).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule


def newest_first(entries):
    """Names or paths with their mtime, newest first (the name breaks ties, for a stable order)."""
    return [name for _mtime, name in sorted(entries, key=lambda entry: (-entry[0], entry[1]))]


def read_layout(root):
    releases_dir = os.path.join(root, "releases")
    releases, installed = [], []
    if os.path.isdir(releases_dir):
        for entry in os.scandir(releases_dir):
            if not entry.is_dir(follow_symlinks=False):
                continue
            releases.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
            marker = os.path.join(entry.path, ".release")
            if os.path.isfile(marker):
                installed.append((os.stat(marker).st_mtime, entry.name))

    dist = os.path.join(root, "dist")
    bundles = []
    if os.path.isdir(dist):
        bundles = [(entry.stat(follow_symlinks=False).st_mtime, entry.path) for entry in os.scandir(dist)
                   if entry.name.endswith(".tar") and entry.is_file(follow_symlinks=False)]

    current = os.path.join(root, "current")
    current_path = os.path.realpath(current) if os.path.islink(current) else ""

    history = []
    try:
        with open(os.path.join(root, "releases.log"), encoding="utf-8", errors="replace") as log:
            history = [line.split()[-1] for line in log if line.strip()]
    except FileNotFoundError:
        pass

    return {
        "current": os.path.basename(current_path),
        "current_path": current_path,
        "installed": newest_first(installed),
        "releases": newest_first(releases),
        "bundles": newest_first(bundles),
        "history": history,
    }


def main():
    module = AnsibleModule(argument_spec={"root": {"type": "path", "required": True}}, supports_check_mode=True)
    module.exit_json(changed=False, **read_layout(module.params["root"]))


if __name__ == "__main__":
    main()
