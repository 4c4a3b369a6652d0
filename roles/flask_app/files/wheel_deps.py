"""Write, next to each wheel in DIR, WHEEL.deb-deps: the Debian packages whose shared libraries
its compiled modules load (found with ldd, owned per dpkg -S). The hosts that install the wheel
get those packages, so a wheel built on a host with -dev packages also runs where they are not.

    python3 wheel_deps.py DIR
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile


def owner(path):
    """The package that owns a library, trying its path as ldd prints it and resolved (/usr-merge)."""
    real = os.path.realpath(path)
    for candidate in dict.fromkeys([path, real, "/usr" + path if not path.startswith("/usr/") else path[4:],
                                    "/usr" + real if not real.startswith("/usr/") else real[4:]]):
        proc = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return proc.stdout.split(":")[0].split(",")[0].strip()
    return None


def libraries(shared_object):
    proc = subprocess.run(["ldd", str(shared_object)], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if "=>" in line:
            target = line.split("=>", 1)[1].strip().split(" (")[0]
            if target.startswith("/"):
                yield target


def main(directory):
    for wheel in sorted(pathlib.Path(directory).glob("*.whl")):
        packages = set()
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.endswith(".so") or ".so." in name:
                    for library in libraries(zf.extract(name, tmp)):
                        package = owner(library)
                        if package:
                            packages.add(package)
        wheel.with_name(wheel.name + ".deb-deps").write_text("".join(f"{p}\n" for p in sorted(packages)))


if __name__ == "__main__":
    main(sys.argv[1])
