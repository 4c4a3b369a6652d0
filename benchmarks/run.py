#!/usr/bin/env python3
"""flasky.deploy benchmarks: converge speed, serving throughput, upgrade cost, fleet scaling.

    make bench                       # everything (about 40 minutes on 2 cores)
    benchmarks/run.py --only converge,serving [--fleet 1,2,4,8] [--keep]

Each part brings up its own lab containers (lab/up.yml with a generated inventory in
benchmarks/work/, SSH like production), measures, and removes them. Ratios are taken side by
side in the same run. Results: benchmarks/results/latest.{json,md,png} (and a dated copy of
the JSON). Nothing here is part of the test suite.
"""

import argparse
import datetime
import json
import os

from common import RESULTS, WORK, Lab, log
from converge import bench_converge
from release import bench_fleet, bench_upgrade
from report import write_report
from serving import bench_serving


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="converge,serving,upgrade,fleet")
    ap.add_argument("--fleet", default="1,2,4,8")
    ap.add_argument("--keep", action="store_true", help="keep the converge/serving lab")
    ap.add_argument("--report", action="store_true",
                    help="only rewrite latest.md and the plot from latest.json")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other parts of results/latest.json (a part measured again is replaced)")
    args = ap.parse_args()
    if args.report:
        write_report(json.loads((RESULTS / "latest.json").read_text()))
        return
    parts = args.only.split(",")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    results = {"started": started, "machine": f"{os.cpu_count()} cores", "parts": parts,
               "measured": {part: started for part in parts}}
    if args.merge and (RESULTS / "latest.json").exists():
        previous = json.loads((RESULTS / "latest.json").read_text())
        for key in ("converge", "serving", "upgrade", "fleet"):
            if key in previous and key not in parts:
                results[key] = previous[key]
                results["measured"][key] = previous.get("measured", {}).get(key, previous["started"])
        results["parts"] = sorted(set(previous.get("parts", [])) | set(parts))
        results["note"] = "parts measured in separate runs: " + ", ".join(
            f"{k} {v}" for k, v in sorted(results["measured"].items(), key=lambda i: i[1]))
    WORK.mkdir(parents=True, exist_ok=True)
    lab = None
    try:
        if "converge" in parts:
            lab = bench_converge(results)
            write_report(results)
        elif "serving" in parts:  # its own single-host site, without the converge measurements
            lab = Lab("converge", {"bench": ["webservers", "appservers", "dbservers"]}, offset=300)
            lab.up()
            lab.playbook("playbooks/site.yml", label="site")
        if "serving" in parts:
            bench_serving(results, lab)
            write_report(results)
    finally:
        if lab and not args.keep:
            lab.down()
    if "upgrade" in parts:
        bench_upgrade(results)
        write_report(results)
    if "fleet" in parts:
        bench_fleet(results, [int(n) for n in args.fleet.split(",")], write_report)
    write_report(results)
    log(f"results: {RESULTS / 'latest.md'}")


if __name__ == "__main__":
    main()
