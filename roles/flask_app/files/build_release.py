#!/usr/bin/env python3
"""Build a release of a Flask app on the controller, once, for every target host platform.

    build_release.py --source DIR --build-dir DIR --extras production \
        --target 3.11-x86_64-36 [--target 3.13-x86_64-41] [--release ID]

Prints one JSON object: {"release", "version", "changed", "bundles": {target: tar path}}.

* The release id is <version>-<10 hex of a hash of the source tree> (files the build reads:
  VCS, build output, caches, tests and local databases are left out), unless --release is
  given: the same source gives the same id, so a rerun finds the release already built.
* The app is built once into a wheel (`pip wheel --no-deps`); its dependencies are
  downloaded as binary wheels for each target (`pip download --only-binary :all:` with the
  target's Python version, ABI and manylinux platforms up to the target's glibc), so a host
  installs offline (`pip install --no-index`) and never needs a package index.
* Each target gets one reproducible tar (sorted, mtime 0, uid 0) of the app wheel and its
  wheelhouse, copied to the hosts as a single file. Built bundles are kept and reused.
"""

import argparse
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "build", "dist", ".pytest_cache", ".mypy_cache",
             ".ruff_cache", ".tox", ".nox", ".venv", "venv", "instance", "tests", "htmlcov"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".sqlite", ".sqlite3", ".db", ".log")


def source_hash(source):
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if name.endswith(SKIP_SUFFIXES) or name in (".env", ".coverage"):
                continue
            path = pathlib.Path(root, name)
            digest.update(str(path.relative_to(source)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")


def platforms(arch, glibc_minor):
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 16, -1)]
    return tags + [f"manylinux2014_{arch}", "any"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, type=pathlib.Path)
    parser.add_argument("--build-dir", required=True, type=pathlib.Path)
    parser.add_argument("--extras", default="")
    parser.add_argument("--target", action="append", required=True)
    parser.add_argument("--release", default="")
    args = parser.parse_args()

    source = args.source.resolve()
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        sys.exit(f"{source} is not a Python project (no pyproject.toml or setup.py)")
    digest = source_hash(source)
    args.build_dir.mkdir(parents=True, exist_ok=True)
    app_dir = args.build_dir / "source" / digest[:16]
    wheels = sorted(app_dir.glob("*.whl"))
    changed = False
    if not wheels:
        tmp = pathlib.Path(tempfile.mkdtemp(dir=args.build_dir))
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp), str(source)])
        app_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(app_dir, ignore_errors=True)
        tmp.rename(app_dir)
        wheels = sorted(app_dir.glob("*.whl"))
        changed = True
    if len(wheels) != 1:
        sys.exit(f"expected one wheel in {app_dir}, found {[w.name for w in wheels]}")
    wheel = wheels[0]
    name, version = wheel.name.split("-")[:2]
    release = args.release or f"{version}-{digest[:10]}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", release):
        sys.exit(f"release id {release!r} is not a plain directory name")

    requirement = f"{name}[{args.extras}] @ {wheel.as_uri()}" if args.extras else f"{name} @ {wheel.as_uri()}"
    bundles = {}
    for target in args.target:
        pyver, arch, glibc = target.split("-")
        abi = "cp" + pyver.replace(".", "")
        bundle = app_dir / f"{name}-{version}-{target}.tar"
        if not bundle.exists():
            house = pathlib.Path(tempfile.mkdtemp(dir=args.build_dir))
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:",
                   "--python-version", pyver, "--implementation", "cp",
                   "--abi", abi, "--abi", "abi3", "--abi", "none", "--dest", str(house)]
            for tag in platforms(arch, int(glibc)):
                cmd += ["--platform", tag]
            run(cmd + [requirement])
            partial = bundle.with_suffix(".partial")
            with tarfile.open(partial, "w") as tar:
                for path in sorted(house.iterdir()):
                    info = tar.gettarinfo(str(path), arcname=path.name)
                    info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
                    with path.open("rb") as handle:
                        tar.addfile(info, handle)
            partial.rename(bundle)
            shutil.rmtree(house)
            changed = True
        bundles[target] = str(bundle)

    print(json.dumps({"release": release, "version": version, "name": name, "wheel": wheel.name,
                      "changed": changed, "bundles": bundles}))


if __name__ == "__main__":
    main()
