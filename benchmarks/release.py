"""Parts 3 and 4: a rolling upgrade of two app hosts under constant load, and the converge of
fleets of 1, 2, 4 and 8 app hosts with the CPU seconds they take (fresh, and the no-op rerun's
controller CPU per managed host)."""

import json
import os
import subprocess
import time

from common import ROOT, VENV_BIN, WORK, Lab, cpu_seconds, log


def bench_upgrade(results):
    lab = Lab("upgrade", {"web": ["webservers"], "app1": ["appservers"], "app2": ["appservers"],
                          "db": ["dbservers"]}, offset=400)
    try:
        lab.up()
        lab.playbook("playbooks/site.yml", label="site")
        url = f"https://localhost:{lab.https}/"
        loadgen = [str(VENV_BIN / "python"), str(ROOT / "scripts/loadgen.py"), url, "--cafile", lab.ca,
                   "--connections", "8", "--rate", "100",
                   "--header", "Cookie: bench=1"]  # past nginx's page cache: the app hosts serve every request
        steady = json.loads(subprocess.run(loadgen + ["--duration", "30"], capture_output=True, text=True).stdout)
        stop = WORK / "upgrade" / "stop"
        stop.unlink(missing_ok=True)
        proc = subprocess.Popen(loadgen + ["--stop-file", str(stop)], stdout=subprocess.PIPE, text=True)
        time.sleep(3)
        run = lab.playbook("playbooks/upgrade.yml", "-e", "deploy_release=bench-second", label="upgrade")
        stop.write_text("stop\n")
        during = json.loads(proc.communicate(timeout=60)[0])
        results["upgrade"] = {
            "app_hosts": 2, "wall_seconds": run["seconds"], "load_rps_asked": 100,
            "during": {k: during[k] for k in ("requests", "failed", "stale_retries", "latency_ms")},
            "steady": {k: steady[k] for k in ("requests", "failed", "latency_ms")},
            "p99_during_over_steady": round(during["latency_ms"]["p99"] / steady["latency_ms"]["p99"], 2),
        }
        log(f"upgrade: {json.dumps(results['upgrade'])}")
    finally:
        lab.down()


def bench_fleet(results, sizes, save):
    rows = []
    for n in sizes:
        hosts = {"web": ["webservers"], "db": ["dbservers"]}
        hosts.update({f"app{i}": ["appservers"] for i in range(1, n + 1)})
        lab = Lab(f"fleet{n}", hosts, offset=500 + 20 * n)
        try:
            lab.up()
            hosts_before, controller_before = cpu_seconds(lab.prefix)
            fresh = lab.playbook("playbooks/site.yml", label="fresh")
            hosts_after, controller_after = cpu_seconds(lab.prefix)
            rerun = lab.playbook("playbooks/site.yml", label="rerun")
            hosts_rerun, controller_rerun = cpu_seconds(lab.prefix)
            cpu = {"hosts": round(hosts_after - hosts_before, 1),
                   "controller": round(controller_after - controller_before, 1)}
            rerun_cpu = {"hosts": round(hosts_rerun - hosts_after, 1),
                         "controller": round(controller_rerun - controller_after, 1)}
            rows.append({"app_hosts": n, "hosts": len(hosts), "fresh_seconds": fresh["seconds"],
                         "fresh_cpu_seconds": cpu,
                         "cpu_over_cores": round((cpu["hosts"] + cpu["controller"]) / os.cpu_count(), 1),
                         "rerun_seconds": rerun["seconds"], "rerun_changed": rerun["changed"],
                         "rerun_cpu_seconds": rerun_cpu,
                         # issue 16: the controller's CPU per managed host in a no-op rerun
                         "rerun_controller_cpu_per_host": round(rerun_cpu["controller"] / len(hosts), 2)})
            log(f"fleet {n}: {rows[-1]}")
        finally:
            lab.down()
        base = rows[0]["fresh_seconds"]
        for r in rows:
            r["fresh_over_one"] = round(r["fresh_seconds"] / base, 2)
        results["fleet"] = rows
        save(results)  # a long part: keep what is measured so far
    base = rows[0]["fresh_seconds"] if rows else 1
    for r in rows:
        r["fresh_over_one"] = round(r["fresh_seconds"] / base, 2)
    results["fleet"] = rows
