#!/usr/bin/env python3
"""Build a release of a Flask app on the controller, once, for every target host platform.

    build_release.py check --source SRC [--ref REF] [--shape auto|package|tree]
                           [--requirements FILE ...] --flask-app TARGET [--wsgi TARGET]
                           --build-dir DIR
    build_release.py build (the same) --target 3.11-x86_64-36 [--target ...] [--extras production]
                           [--add gunicorn] [--engine postgresql] [--release ID] [--pip-arg ARG ...]

Prints one JSON object. A bad input prints {"failed": true, "variable": ..., "msg": ...} and
exits 2, before anything is built; the role turns it into a failed "Check ..." task.

* Source: a directory on the controller, or a git repository (URL or path of a repository
  with --ref: branch, tag or commit) fetched into a bare mirror HERE; hosts never see git.
* Shape: `package` (pyproject.toml with [project], or setup.py: one wheel is built, today's
  path) or `tree` (a plain source tree plus requirements files: the tree itself becomes the
  release directory). `auto` picks the first that fits.
* Release id: <version or ref>-<10 hex of the commit or of the source hash>: the same source
  is the same release, so a rerun finds it built and the hosts find it installed.
* Dependencies: resolved per target (Python version, CPU, glibc) with `pip download
  --only-binary :all:`. A dependency published only as a source distribution is built into a
  wheel here; a pure-Python one serves every target, one with compiled code is reported in
  "needs_build" with its sdist and its build requirements (as wheels for the target), for the
  role to compile on one host of that platform; the wheels it brings back (in
  <build-dir>/compiled/<target>) are found by the next run.
* Each target gets one reproducible tar: .wheels/ (every wheel to install), .requirements.lock
  (name==version of each) and, for the tree shape, the source tree itself.
"""

import argparse
import ast
import email.parser
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
import tomllib
import zipfile

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "build", "dist", ".pytest_cache", ".mypy_cache",
             ".ruff_cache", ".tox", ".nox", ".venv", "venv", "instance", "tests", "htmlcov", "node_modules",
             ".wheels"}
SKIP_FILES = {".env", ".coverage", ".release", ".requirements.lock"}  # .env: secrets, never shipped
SKIP_SUFFIXES = (".pyc", ".pyo", ".sqlite", ".sqlite3", ".db", ".log")
GIT_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
NO_MATCH = re.compile(r"No matching distribution found for ([^\s;]+)")
DEFAULT_REQUIREMENTS = ("requirements.txt", "requirements/prod.txt", "requirements/production.txt",
                        "requirements/common.txt")
# SQLAlchemy dialect+driver of each known driver distribution, in order of preference.
DRIVERS = {
    "postgresql": [("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2"),
                   ("psycopg2-binary", "postgresql+psycopg2"), ("pg8000", "postgresql+pg8000")],
    "mysql": [("pymysql", "mysql+pymysql"), ("mysqlclient", "mysql+mysqldb"),
              ("mysql-connector-python", "mysql+mysqlconnector"), ("mariadb", "mariadb+mariadbconnector")],
}
DEFAULT_DRIVER = {"postgresql": "psycopg[binary]", "mysql": "PyMySQL"}
LEGACY_DRIVER = {"postgresql": "psycopg2-binary", "mysql": "PyMySQL"}  # SQLAlchemy < 2 has no psycopg 3


class BadInput(Exception):
    def __init__(self, variable, msg):
        super().__init__(msg)
        self.variable, self.msg = variable, msg


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def run(cmd, cwd=None, check=True):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


# --- the source ----------------------------------------------------------------------------

def is_git(source, ref):
    """A URL, a path ending in .git, or a local repository named together with a ref."""
    return bool(GIT_URL.match(source)) or source.rstrip("/").endswith(".git") or bool(ref)


def fetch_git(url, ref, build_dir):
    """Mirror the repository on the controller and export `ref` as a plain tree."""
    if not ref:
        raise BadInput("flask_app_source_version", f"the git source {url} needs a branch, tag or commit")
    mirror = build_dir / "git" / hashlib.sha256(url.encode()).hexdigest()[:16]
    if not (mirror / "HEAD").exists():
        mirror.parent.mkdir(parents=True, exist_ok=True)
        tmp = pathlib.Path(tempfile.mkdtemp(dir=mirror.parent))
        proc = run(["git", "clone", "--quiet", "--mirror", url, str(tmp)], check=False)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise BadInput("flask_app_source", f"cannot clone {url}: {proc.stderr.strip()[-300:]}")
        tmp.rename(mirror)
    elif not re.fullmatch(r"[0-9a-f]{40}", ref) or run(["git", "cat-file", "-e", ref], cwd=mirror,
                                                       check=False).returncode != 0:
        proc = run(["git", "fetch", "--quiet", "--prune", "--tags", "origin", "+refs/*:refs/*"], cwd=mirror,
                   check=False)
        if proc.returncode != 0:
            raise BadInput("flask_app_source", f"cannot fetch {url}: {proc.stderr.strip()[-300:]}")
    proc = run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=mirror, check=False)
    if proc.returncode != 0:
        raise BadInput("flask_app_source_version",
                       f"{ref!r} is not a branch, tag or commit of {url}")
    commit = proc.stdout.strip()
    tree = build_dir / "trees" / commit
    if not tree.is_dir():
        tmp = pathlib.Path(tempfile.mkdtemp(dir=build_dir))
        archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=mirror, capture_output=True,
                                 check=True)
        with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        tree.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(tree)
    label = "rev" if re.fullmatch(r"[0-9a-f]{7,40}", ref) else re.sub(r"[^A-Za-z0-9._+-]+", "-", ref).strip("-.")
    return tree, commit, label or "rev"


def tree_files(tree):
    """The files of the source that a release carries (VCS, caches, tests, local data left out)."""
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if name.endswith(SKIP_SUFFIXES) or name in SKIP_FILES:
                continue
            path = pathlib.Path(root, name)
            if path.is_symlink() and not path.resolve().is_relative_to(tree.resolve()):
                raise BadInput("flask_app_source", f"{path.relative_to(tree)} links outside the source tree")
            yield path


def digest_of(tree, inputs):
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode())
    for path in tree_files(tree):
        digest.update(str(path.relative_to(tree)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def project_table(tree):
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        return tomllib.loads(pyproject.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput("flask_app_source", f"pyproject.toml does not parse: {exc}") from None


def detect_shape(tree, shape, requirements):
    """package or tree, and the requirements files of a tree."""
    meta = project_table(tree)
    is_package = (tree / "setup.py").is_file() or bool(meta and "project" in meta)
    if shape == "auto":
        shape = "tree" if requirements or not is_package else "package"
    if shape == "package":
        if not is_package:
            raise BadInput("flask_app_shape", "shape package needs a Python project (pyproject.toml with a "
                           "[project] table, or setup.py) in flask_app_source")
        return shape, list(requirements)
    if not requirements:
        requirements = [name for name in DEFAULT_REQUIREMENTS if (tree / name).is_file()][:1]
        if not requirements:
            raise BadInput("flask_app_source", "the source is neither a Python project (pyproject.toml with "
                           "[project], or setup.py) nor a source tree with requirements files: name them in "
                           f"flask_app_requirements (looked for {', '.join(DEFAULT_REQUIREMENTS)})")
    for name in requirements:
        path = (tree / name).resolve()
        if not path.is_relative_to(tree.resolve()) or not path.is_file():
            raise BadInput("flask_app_requirements", f"requirements file {name!r} is not in the source tree")
    return "tree", list(requirements)


def module_file(tree, module):
    parts = module.split(".")
    for base in (tree, tree / "src"):
        for path in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if path.is_file():
                return path
    return None


def defined_names(path):
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as exc:
        raise BadInput("flask_app_module", f"{path.name} does not compile: {exc}") from None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for target in targets for t in ast.walk(target) if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def check_target(tree, target, variable, default_attrs):
    """FLASK_APP / gunicorn target: `file.py`, `module`, `module:name` or `module:factory()`."""
    spec, _, attr = target.partition(":")
    if not spec or not re.fullmatch(r"[\w./-]+", spec) or ".." in spec.split("/"):
        raise BadInput(variable, f"{target!r} is not a module, module:name or file.py")
    module = spec[:-3].replace("/", ".") if spec.endswith(".py") else spec
    path = module_file(tree, module)
    if path is None:
        raise BadInput(variable, f"{target!r}: no module {module} in the source (no {module.replace('.', '/')}.py "
                       "or package)")
    names = defined_names(path)
    attr = re.match(r"\s*([A-Za-z_]\w*)?", attr).group(1) or ""
    wanted = [attr] if attr else list(default_attrs)
    if wanted and not names.intersection(wanted) and "*" not in names:
        raise BadInput(variable, f"{target!r}: {path.relative_to(tree)} defines none of {', '.join(wanted)}")
    return module


def find_static(tree, shape, module, static_dir):
    """The static folder, relative to the release (tree) or to the package directory (package)."""
    if static_dir != "auto":
        return static_dir
    if shape == "package":
        package = module.split(".")[0]
        return "static" if any((b / package / "static").is_dir() for b in (tree, tree / "src")) else ""
    found = (p.relative_to(tree) for p in tree.rglob("static") if p.is_dir())
    candidates = sorted((len(p.parts), str(p)) for p in found
                        if len(p.parts) <= 3 and not SKIP_DIRS.intersection(p.parts))
    return candidates[0][1] if candidates else ""


def load_source(args):
    source = args.source
    if is_git(source, args.ref):
        tree, commit, label = fetch_git(source, args.ref, args.build_dir)
    else:
        tree, commit, label = pathlib.Path(source).expanduser().resolve(), "", ""
        if not tree.is_dir():
            raise BadInput("flask_app_source", f"{source} is not a directory on the controller nor a git repository")
    shape, requirements = detect_shape(tree, args.shape, args.requirements)
    module = check_target(tree, args.flask_app, "flask_app_module", ("app", "application", "create_app", "make_app"))
    if args.wsgi:
        check_target(tree, args.wsgi, "flask_app_wsgi", ())
    return {"tree": tree, "commit": commit, "label": label, "shape": shape, "requirements": requirements,
            "static": find_static(tree, shape, module, args.static_dir)}


# --- dependencies --------------------------------------------------------------------------

def pip(*args, cwd=None, check=True):
    return run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], cwd=cwd, check=check)


def target_options(target):
    pyver, arch, glibc = target.split("-")
    abi = "cp" + pyver.replace(".", "")
    opts = ["--only-binary", ":all:", "--python-version", pyver, "--implementation", "cp",
            "--abi", abi, "--abi", "abi3", "--abi", "none"]
    for minor in range(int(glibc), 16, -1):
        opts += ["--platform", f"manylinux_2_{minor}_{arch}"]
    return opts + ["--platform", f"manylinux2014_{arch}", "--platform", f"linux_{arch}", "--platform", "any"]


def wheel_tag(target):
    pyver, arch, _ = target.split("-")
    abi = "cp" + pyver.replace(".", "")
    return f"{abi}-{abi}-linux_{arch}"


def wheel_name(path):
    name, version = path.name.split("-")[:2]
    return canonical(name), version


def metadata_of(wheel):
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(zf.read(meta).decode())


def sdist_metadata(sdist):
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        return email.parser.Parser().parsestr(tar.extractfile(member).read().decode())


def placeholder(meta, target, directory):
    """A wheel with only the metadata `meta` (of a wheel, or an sdist's PKG-INFO), tagged for
    `target`: it lets pip resolve the dependencies of a package compiled later, on a host."""
    name, version = meta["Name"], meta["Version"]
    dist = f"{re.sub(r'[-.]+', '_', name)}-{version}"
    path = directory / f"{dist}-{wheel_tag(target)}.whl"
    requires = "".join(f"Requires-Dist: {r}\n" for r in meta.get_all("Requires-Dist") or [])
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{dist}.dist-info/METADATA",
                    f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires}")
        zf.writestr(f"{dist}.dist-info/WHEEL",
                    f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {wheel_tag(target)}\n")
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def sdist_build_requirements(sdist):
    """[build-system] requires of an sdist (setuptools and wheel when it has none)."""
    requires = ["setuptools>=40.8.0"]
    with tarfile.open(sdist) as tar:
        member = next((m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/pyproject.toml")),
                      None)
        if member is not None:
            requires = tomllib.loads(tar.extractfile(member).read().decode()).get("build-system", {}).get(
                "requires", requires)
    return sorted(set(requires) | {"wheel"})


class Resolver:
    """Resolves the requirements of one target into a directory of wheels."""

    def __init__(self, work, pure, pip_args):
        self.work, self.pure, self.pip_args = work, pure, pip_args  # pure: wheels built from pure sdists
        work.mkdir(parents=True, exist_ok=True)
        pure.mkdir(parents=True, exist_ok=True)

    def sdist_wheel(self, requirement, cwd):
        """Build `requirement` from its sdist here: (wheel, sdist)."""
        out = pathlib.Path(tempfile.mkdtemp(dir=self.work))
        proc = pip("download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest", str(out / "sdist"),
                   *self.pip_args, requirement, cwd=cwd, check=False)
        sdists = list((out / "sdist").glob("*")) if proc.returncode == 0 else []
        if not sdists:
            return None, None
        proc = pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out / "wheel"), str(sdists[0]), check=False)
        wheels = list((out / "wheel").glob("*.whl")) if proc.returncode == 0 else []
        return (wheels[0] if wheels else None), sdists[0]

    def resolve(self, target, requirements, cwd, compiled):
        """Wheels for `target` into a new directory; (directory, [(requirement, sdist)] to compile)."""
        house = pathlib.Path(tempfile.mkdtemp(dir=self.work))
        holders = pathlib.Path(tempfile.mkdtemp(dir=self.work))
        to_compile, seen = [], set()
        while True:
            proc = pip("download", "--quiet", *target_options(target), "--dest", str(house),
                       "--find-links", str(self.pure), "--find-links", str(compiled), "--find-links", str(holders),
                       *self.pip_args, *requirements, cwd=cwd, check=False)
            if proc.returncode == 0:
                break
            missing = NO_MATCH.search(proc.stdout + proc.stderr)
            if not missing or missing.group(1) in seen:
                raise RuntimeError(f"resolving the dependencies for Python {target} failed:\n{proc.stderr[-2000:]}")
            requirement = missing.group(1)
            seen.add(requirement)
            wheel, sdist = self.sdist_wheel(requirement, cwd)
            if sdist is None:
                raise BadInput("flask_app_requirements", f"{requirement} has neither a wheel for Python {target} "
                               "nor a source distribution")
            if wheel is not None and wheel.name.endswith("-none-any.whl"):
                shutil.copy(wheel, self.pure)
                continue
            # Compiled code (or no compiler here): its metadata stands in until a host builds it.
            placeholder(metadata_of(wheel) if wheel is not None else sdist_metadata(sdist), target, holders)
            to_compile.append((requirement, sdist))
        for path in holders.iterdir():
            (house / path.name).unlink(missing_ok=True)
        shutil.rmtree(holders)
        return house, to_compile


def drivers_in(house, engine):
    names = {wheel_name(p)[0] for p in house.glob("*.whl")}
    return next((scheme for dist, scheme in DRIVERS.get(engine, []) if dist in names), "")


def write_bundle(bundle, tree_paths, tree, house):
    """One reproducible tar: sorted, mtime 0, owned by root."""
    lock = "".join(f"{n}=={v}\n" for n, v in sorted(wheel_name(p) for p in house.glob("*.whl"))).encode()
    partial = bundle.with_suffix(".partial")

    def add(tar, arcname, path=None, data=None, mode=0o644):
        info = tarfile.TarInfo(arcname)
        info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", mode
        if data is None:
            data = path.read_bytes()
        info.size = len(data)
        tar.addfile(info, __import__("io").BytesIO(data))

    with tarfile.open(partial, "w") as tar:
        for path in tree_paths:
            add(tar, str(path.relative_to(tree)), path, mode=0o755 if os.access(path, os.X_OK) else 0o644)
        for path in sorted(house.glob("*.whl")):
            add(tar, f".wheels/{path.name}", path)
        add(tar, ".requirements.lock", data=lock)
    partial.rename(bundle)


def build(args, src):
    tree = src["tree"]
    inputs = {"shape": src["shape"], "requirements": src["requirements"], "extras": args.extras,
              "add": args.add, "engine": args.engine, "pip": args.pip_args}
    digest = src["commit"] or digest_of(tree, inputs)
    key = hashlib.sha256((digest + json.dumps(inputs, sort_keys=True)).encode()).hexdigest()[:16]
    out = args.build_dir / "source" / key
    out.mkdir(parents=True, exist_ok=True)
    result = {"changed": False, "bundles": {}, "needs_build": {}, "runtime_packages": {}, "db_scheme": ""}
    state = out / "state.json"
    info = json.loads(state.read_text()) if state.exists() else {}
    if src["shape"] == "package" and not info:
        wheels = pathlib.Path(tempfile.mkdtemp(dir=args.build_dir))
        proc = pip("wheel", "--no-deps", "--quiet", "-w", str(wheels), str(tree), check=False)
        if proc.returncode != 0:
            raise BadInput("flask_app_source", f"the project does not build a wheel:\n{proc.stderr[-1500:]}")
        app_wheel = next(wheels.glob("*.whl"))
        shutil.move(str(app_wheel), out / app_wheel.name)
        shutil.rmtree(wheels)
        name, version = app_wheel.name.split("-")[:2]
        info = {"name": name, "version": version, "wheel": app_wheel.name}
    elif not info:
        info = {"name": args.name, "version": src["label"] or "src", "wheel": ""}
    label = src["label"] if src["commit"] and src["shape"] == "tree" else info["version"]
    release = args.release or f"{label}-{digest[:10]}"
    if not RELEASE_ID.fullmatch(release):
        raise BadInput("flask_app_release", f"release id {release!r} is not a plain directory name")
    state.write_text(json.dumps(info))

    if src["shape"] == "package":
        extras = f"[{args.extras}]" if args.extras else ""
        requirements = [f"{info['name']}{extras} @ {(out / info['wheel']).as_uri()}"]
    else:
        requirements = [arg for name in src["requirements"] for arg in ("-r", name)]
    requirements += args.add
    tree_paths = list(tree_files(tree)) if src["shape"] == "tree" else []
    resolver = Resolver(args.build_dir / "work", args.build_dir / "pure", args.pip_args)
    for target in args.target:
        bundle = out / f"{info['name']}-{release}-{target}.tar"
        meta = bundle.with_suffix(".json")
        compiled = args.build_dir / "compiled" / target
        compiled.mkdir(parents=True, exist_ok=True)
        if bundle.exists() and meta.exists():
            saved = json.loads(meta.read_text())
        else:
            house, to_compile = resolver.resolve(target, requirements, tree, compiled)
            extra = []
            if args.engine and not drivers_in(house, args.engine):
                versions = dict(wheel_name(p) for p in house.glob("*.whl"))
                legacy = int(versions.get("sqlalchemy", "2").split(".")[0]) < 2
                extra = [(LEGACY_DRIVER if legacy else DEFAULT_DRIVER)[args.engine]]
                shutil.rmtree(house)
                house, to_compile = resolver.resolve(target, requirements + extra, tree, compiled)
            if to_compile:
                result["needs_build"][target] = needs_build(to_compile, target, compiled, resolver, args)
                shutil.rmtree(house)
                continue
            runtime = set()
            for wheel in house.glob("*.whl"):
                deps = compiled / (wheel.name + ".deb-deps")
                if deps.exists():
                    runtime.update(deps.read_text().split())
            saved = {"db_scheme": drivers_in(house, args.engine), "runtime_packages": sorted(runtime)}
            write_bundle(bundle, tree_paths, tree, house)
            meta.write_text(json.dumps(saved))
            shutil.rmtree(house)
            result["changed"] = True
        result["bundles"][target] = str(bundle)
        result["runtime_packages"][target] = saved["runtime_packages"]
        result["db_scheme"] = result["db_scheme"] or saved["db_scheme"]
    shutil.rmtree(args.build_dir / "work", ignore_errors=True)
    result.update(release=release, name=info["name"], version=info["version"], shape=src["shape"],
                  static=src["static"], commit=src["commit"])
    return result


def needs_build(to_compile, target, compiled, resolver, args):
    """A directory for the host build: the sdists and their build requirements as wheels."""
    directory = args.build_dir / "hostbuild" / target
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "sdists").mkdir(parents=True)
    requires = set()
    for _, sdist in to_compile:
        shutil.copy(sdist, directory / "sdists")
        requires.update(sdist_build_requirements(sdist))
    proc = pip("download", "--quiet", *target_options(target), "--dest", str(directory / "wheels"),
               "--find-links", str(resolver.pure), *args.pip_args, *sorted(requires), check=False)
    if proc.returncode != 0:
        names = ", ".join(r for r, _ in to_compile)
        raise BadInput("flask_app_requirements", f"{names} must be compiled for Python {target}, but its build "
                       f"requirements ({', '.join(sorted(requires))}) are not available as wheels for it:\n"
                       f"{proc.stderr[-800:]}")
    return {"directory": str(directory), "packages": [r for r, _ in to_compile], "into": str(compiled)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["check", "build"])
    parser.add_argument("--source", required=True)
    parser.add_argument("--ref", default="")
    parser.add_argument("--shape", default="auto", choices=["auto", "package", "tree"])
    parser.add_argument("--requirements", action="append", default=[])
    parser.add_argument("--flask-app", required=True)
    parser.add_argument("--wsgi", default="")
    parser.add_argument("--static-dir", default="auto")
    parser.add_argument("--name", default="app")
    parser.add_argument("--build-dir", required=True, type=pathlib.Path)
    parser.add_argument("--target", action="append", default=[])
    parser.add_argument("--extras", default="")
    parser.add_argument("--add", action="append", default=[])
    parser.add_argument("--engine", default="", choices=["", "postgresql", "mysql"])
    parser.add_argument("--release", default="")
    parser.add_argument("--pip-arg", dest="pip_args", action="append", default=[])
    args = parser.parse_args()
    args.build_dir = args.build_dir.expanduser()
    args.build_dir.mkdir(parents=True, exist_ok=True)
    try:
        src = load_source(args)
        if args.action == "check":
            result = {"shape": src["shape"], "requirements": src["requirements"], "static": src["static"],
                      "commit": src["commit"], "tree": str(src["tree"])}
        else:
            result = build(args, src)
    except BadInput as exc:
        print(json.dumps({"failed": True, "variable": exc.variable, "msg": f"{exc.variable}: {exc.msg}"}))
        sys.exit(2)
    except RuntimeError as exc:  # pip could not resolve or fetch the dependencies
        print(json.dumps({"failed": True, "variable": "flask_app_requirements",
                          "msg": f"flask_app_requirements: {exc}"}))
        sys.exit(2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
