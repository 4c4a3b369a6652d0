#!/usr/bin/env python3
"""The reference part of each role's README, from its meta/argument_specs.yml: entry points,
variables with their defaults, and what the role exports.

    role_docs.py          rewrite the part between the markers in roles/*/README.md
    role_docs.py --check  fail when a README's part differs from its spec (make lint)

The part sits between `<!-- BEGIN REFERENCE -->` and `<!-- END REFERENCE -->`; the rest of the
README (what the role does, an example) is written by hand. Every role README has the same
sections, in this order (a role may add its own between "What it does" and "Example"): SECTIONS.
"""

import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- BEGIN REFERENCE (scripts/role_docs.py) -->", "<!-- END REFERENCE -->"
SECTIONS = ["What it does", "Example", "Entry points", "Variables", "Exports"]


def missing_sections(content):
    """The common sections a README lacks or has out of order (its own may come in between)."""
    found = [line[3:].strip() for line in content.splitlines() if line.startswith("## ")]
    common = [name for name in found if name in SECTIONS]
    return [] if common == SECTIONS else [name for name in SECTIONS if name not in common] or ["(their order)"]


def text(value):
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return " ".join(str(value).split()).replace("|", "\\|")


def default(option):
    if "default" not in option:
        return "(required)" if option.get("required") else ""
    value = option["default"]
    shown = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    shown = shown.removesuffix("\n...").removesuffix("...").strip()
    return f"`{shown}`" if shown else '`""`'


def reference(spec):
    entry_points = spec["argument_specs"]
    main = entry_points.get("main", {})
    options = main.get("options", {})
    inputs = {n: o for n, o in options.items() if not text(o.get("description", "")).startswith("Exported")}
    exports = {}
    for point in entry_points.values():
        for name, option in (point.get("options") or {}).items():
            if text(option.get("description", "")).startswith("Exported"):
                exports.setdefault(name, option)
    lines = ["## Entry points", ""]
    lines += [f"- `{name}`: {text(point.get('short_description', ''))}" for name, point in entry_points.items()]
    lines += ["", "## Variables", "", "| variable | default | |", "|---|---|---|"]
    lines += [f"| `{name}` | {default(option)} | {text(option.get('description', ''))} |"
              for name, option in sorted(inputs.items())]
    lines += ["", "Every one is described in [`defaults/main.yml`](defaults/main.yml) and checked by",
              "[`meta/argument_specs.yml`](meta/argument_specs.yml) before the role changes anything.", ""]
    lines += ["## Exports", ""]
    if exports:
        lines += [f"- `{name}`: {text(option['description']).split(':', 1)[1].strip()}"
                  for name, option in sorted(exports.items())]
    else:
        lines += ["Nothing: no other role needs a value of this one."]
    return "\n".join([BEGIN, *lines, END])


def main(check):
    stale, unlike = [], []
    for spec_path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        role = spec_path.parent.parent
        readme = role / "README.md"
        content = readme.read_text(encoding="utf-8")
        wanted = reference(yaml.safe_load(spec_path.read_text(encoding="utf-8")))
        if BEGIN in content:
            before, rest = content.split(BEGIN, 1)
            after = rest.split(END, 1)[1]
            new = before + wanted + after
        else:
            new = content.rstrip("\n") + "\n\n" + wanted + "\n"
        if missing_sections(new):
            unlike.append(f"{readme.relative_to(ROOT)}: {', '.join(missing_sections(new))}")
        if new != content:
            stale.append(str(readme.relative_to(ROOT)))
            if not check:
                readme.write_text(new, encoding="utf-8")
    if unlike:
        print("role READMEs without the common sections (" + ", ".join(SECTIONS) + "):", "; ".join(unlike))
    if check and stale:
        print("out of date (run scripts/role_docs.py):", ", ".join(stale))
    return 1 if unlike or (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
