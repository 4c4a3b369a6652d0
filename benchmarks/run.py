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
import pathlib
import re
import resource
import shutil
import subprocess
import sys
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "work"
RESULTS = ROOT / "benchmarks" / "results"
LAB_VARS = ROOT / "inventories" / "lab" / "group_vars" / "all.yml"
VENV_BIN = ROOT / ".venv" / "bin"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Lab:
    """A generated lab inventory: `hosts` is {name: [groups]}; the first webserver publishes 443."""

    def __init__(self, name, hosts, offset, debian=12, extra_vars=None):
        self.name, self.hosts, self.offset = name, hosts, offset
        self.prefix = f"flasky-bench-{name}"
        self.dir = WORK / name
        self.state = pathlib.Path.home() / ".local/share/flasky-deploy" / self.prefix
        self.https = 8443 + offset
        groups = {}
        for i, (host, member_of) in enumerate(hosts.items()):
            for g in member_of:
                groups.setdefault(g, {})[host] = None
        hostvars = {}
        for i, host in enumerate(hosts):
            hv = {"ansible_port": 2201 + offset + i, "lab_debian": debian}
            if "webservers" in hosts[host] and not any("lab_published" in v for v in hostvars.values()):
                hv["lab_published"] = [f"127.0.0.1:{self.https}:443"]
            hostvars[host] = hv
        inventory = {"all": {"children": {g: {"hosts": {h: hostvars[h] for h in hs}} for g, hs in groups.items()}}}
        if self.dir.exists():
            shutil.rmtree(self.dir)
        (self.dir / "group_vars").mkdir(parents=True)
        (self.dir / "hosts.yml").write_text("---\n" + json.dumps(inventory, indent=1) + "\n")
        shutil.copy(LAB_VARS, self.dir / "group_vars" / "all.yml")
        if extra_vars:
            with open(self.dir / "group_vars" / "all.yml", "a") as f:
                f.write("# benchmark settings\n" + "".join(f"{k}: {json.dumps(v)}\n" for k, v in extra_vars.items()))
        self.env = {**os.environ, "FLASKY_LAB_PREFIX": self.prefix, "FLASKY_LAB_PORT_OFFSET": str(offset),
                    "FLASKY_APP_SOURCE": str(ROOT / "app_src"), "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
                    "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"), "ANSIBLE_FORCE_COLOR": "0",
                    # no cached facts from another run (same host names)
                    "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(self.dir / "facts")}

    def playbook(self, playbook, *args, env=None, label=None):
        cmd = ["ansible-playbook", "-i", str(self.dir / "hosts.yml"), str(ROOT / playbook), *args]
        start = time.monotonic()
        out = subprocess.run(cmd, cwd=ROOT, env={**self.env, **(env or {})}, capture_output=True, text=True)
        seconds = time.monotonic() - start
        (self.dir / f"{label or pathlib.Path(playbook).stem}.log").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            raise RuntimeError(f"{playbook} failed ({label}): see {self.dir}/{label or pathlib.Path(playbook).stem}.log\n"
                               + out.stdout[-3000:])
        recap = [dict(zip(("host", "ok", "changed", "unreachable", "failed", "skipped"),
                          (m[0], *map(int, m[1:])))) for m in RECAP.findall(out.stdout)]
        return {"seconds": round(seconds, 1), "tasks": sum(r["ok"] + r["skipped"] for r in recap),
                "changed": sum(r["changed"] for r in recap), "hosts": len(recap), "stdout": out.stdout}

    def up(self):
        return self.playbook("lab/up.yml", label="up")

    def down(self):
        subprocess.run(["ansible-playbook", "-i", str(self.dir / "hosts.yml"), str(ROOT / "lab/down.yml")],
                       cwd=ROOT, env=self.env, capture_output=True, text=True)

    def sh(self, host, command, timeout=900):
        """A command as root in a lab container (docker exec: the measurement tooling, not the product)."""
        out = subprocess.run(["docker", "exec", f"{self.prefix}-{host}", "bash", "-c", command],
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{host}: {command}: {out.stderr[-2000:]}")
        return out.stdout

    @property
    def ca(self):
        return str(self.state / "ca" / "ca.crt")


def summary(run):
    return {k: v for k, v in run.items() if k != "stdout"}


def top_tasks(stdout, n=12):
    """The slowest tasks of a run with the profile_tasks callback."""
    rows = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", stdout, re.M)
    return [{"task": t.strip(), "seconds": float(s)} for t, s in sorted(rows, key=lambda r: -float(r[1]))[:n]]


def time_by_role(stdout):
    """Seconds and task count per role of a run with profile_tasks (each task header is followed
    by the previous task's duration)."""
    heads = re.findall(r"^TASK \[(.+?)\].*\n.*?\((\d+):(\d+):(\d+\.\d+)\)", stdout, re.M)
    roles = {}
    for (task, *_), (_, h, m, sec) in zip(heads, heads[1:]):
        role = task.split(" : ")[0] if " : " in task else "(playbook tasks)"
        seconds, count = roles.get(role, (0.0, 0))
        roles[role] = (seconds + int(h) * 3600 + int(m) * 60 + float(sec), count + 1)
    return [{"role": r, "seconds": round(v[0], 1), "tasks": v[1]} for r, v in sorted(roles.items(), key=lambda i: -i[1][0])]


# --- 1. converge ----------------------------------------------------------------------------

def bench_converge(results):
    # SSH's rate limit raised (30 new connections a minute by default) so that a run without
    # ControlPersist, one connection per task, can be measured at all.
    lab = Lab("converge", {"bench": ["webservers", "appservers", "dbservers"]}, offset=300,
              extra_vars={"firewall_ssh_rate": "6000/minute"})
    try:
        lab.up()
        # a cold controller build cache too: the fresh run includes building the wheelhouse
        build_dir = WORK / "converge" / "build"
        site = ("playbooks/site.yml", "-e", f"flask_app_build_dir={build_dir}")
        profile = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"}
        fresh = lab.playbook(*site, env=profile, label="fresh")
        log(f"converge fresh: {fresh['seconds']} s, {fresh['tasks']} tasks, {fresh['changed']} changed")
        rerun = lab.playbook(*site, env=profile, label="rerun")
        log(f"converge rerun: {rerun['seconds']} s, changed {rerun['changed']}")
        settings = {}
        off = {
            "pipelining": {"ANSIBLE_PIPELINING": "False"},
            # one SSH connection (and login) per task
            "controlpersist": {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o PreferredAuthentications=publickey"},
            "fact_cache": {"ANSIBLE_GATHERING": "implicit", "ANSIBLE_CACHE_PLUGIN": "memory"},
        }
        for name, env in off.items():
            run = lab.playbook(*site, env=env, label=f"rerun-no-{name}")
            settings[name] = {"on_seconds": rerun["seconds"], "off_seconds": run["seconds"],
                              "off_over_on": round(run["seconds"] / rerun["seconds"], 2), "changed_off": run["changed"]}
            log(f"rerun without {name}: {run['seconds']} s")
        # Mitogen (optional, not adopted by default): fresh and rerun on a second bare host
        mitogen = mitogen_env()
        if mitogen:
            settings["mitogen"] = bench_mitogen(site, mitogen, fresh, rerun)
        # the wheelhouse built once on the controller (cached by source hash) vs built cold
        cold = WORK / "converge" / "build-cold"
        wheel = build_wheelhouse_times(build_dir, cold)
        settings["wheelhouse_once"] = wheel
        results["converge"] = {"fresh": summary(fresh), "rerun": summary(rerun),
                               "rerun_over_fresh": round(rerun["seconds"] / fresh["seconds"], 3),
                               "settings": settings, "rerun_profile": top_tasks(rerun["stdout"]),
                               "rerun_by_role": time_by_role(rerun["stdout"]),
                               "fresh_by_role": time_by_role(fresh["stdout"])}
        return lab
    except Exception:
        lab.down()
        raise


def mitogen_env():
    """The settings that run a playbook with Mitogen's strategy, or None if it is not installed."""
    try:
        import ansible_mitogen
    except ImportError:
        log("mitogen not installed: its comparison is skipped (pip install -r benchmarks/requirements.txt)")
        return None
    plugins = pathlib.Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def bench_mitogen(site, mitogen, fresh, rerun):
    """Fresh converge and rerun of a second bare host with Mitogen, against the default runs."""
    lab = Lab("converge-mitogen", {"bench": ["webservers", "appservers", "dbservers"]}, offset=320)
    try:
        lab.up()
        # Under Mitogen the apt module cannot install its own python3-apt on a bare host: that
        # is done first, over raw SSH, and counted in the fresh converge.
        start = time.monotonic()
        boot = subprocess.run(["ansible", "-i", str(lab.dir / "hosts.yml"), "all", "-b", "-m", "ansible.builtin.raw",
                               "-a", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-apt"],
                              cwd=ROOT, env=lab.env, capture_output=True, text=True)
        if boot.returncode != 0:
            raise RuntimeError(f"python3-apt bootstrap failed: {boot.stdout[-2000:]}")
        bootstrap = time.monotonic() - start
        m_fresh = lab.playbook(*site, env=mitogen, label="fresh")
        m_fresh["seconds"] = round(m_fresh["seconds"] + bootstrap, 1)
        m_rerun = lab.playbook(*site, env=mitogen, label="rerun")
    except Exception as exc:  # optional: its failure must not cost the other measurements
        log(f"mitogen comparison failed: {exc}"[:3000])
        return {"error": " ".join(str(exc).split())[:500]}
    finally:
        lab.down()
    log(f"mitogen: fresh {m_fresh['seconds']} s (python3-apt bootstrap {bootstrap:.1f} s), rerun {m_rerun['seconds']} s, "
        f"changed {m_rerun['changed']}")
    return {"fresh_seconds": m_fresh["seconds"], "bootstrap_seconds": round(bootstrap, 1),
            "rerun_seconds": m_rerun["seconds"], "rerun_changed": m_rerun["changed"],
            "rerun_over_fresh": round(m_rerun["seconds"] / m_fresh["seconds"], 3),
            "default_over_mitogen_fresh": round(fresh["seconds"] / m_fresh["seconds"], 2),
            "default_over_mitogen_rerun": round(rerun["seconds"] / m_rerun["seconds"], 2)}


def build_wheelhouse_times(cached_dir, cold_dir):
    """build_release.py with its cache vs a cold one: what building once on the controller saves
    (a per-host build would pay the cold time on every host)."""
    times = {}
    for label, cache in (("cached", cached_dir), ("cold", cold_dir)):
        if label == "cold":
            shutil.rmtree(cold_dir, ignore_errors=True)
        start = time.monotonic()
        out = subprocess.run([str(VENV_BIN / "python"), str(ROOT / "roles/flask_app/files/build_release.py"),
                              "--source", str(ROOT / "app_src"), "--build-dir", str(cache),
                              "--extras", "production", "--release", "", "--target", TARGET],
                             capture_output=True, text=True)
        times[label] = round(time.monotonic() - start, 2)
        if out.returncode != 0:
            times[label + "_error"] = out.stderr[-500:]
    times["cold_over_cached"] = round(times["cold"] / max(times["cached"], 0.01), 1)
    return times


# --- 2. serving -----------------------------------------------------------------------------

WRK = "wrk -t2 -c64 -d30s --latency"
TARGET = "3.11-x86_64-36"  # Debian 12: CPython 3.11, glibc 2.36 (see the role's vars/)


def parse_wrk(text):
    def ms(value, unit):
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = dict((p, ms(v, u)) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rps": rps, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"), "errors": errors}


def bench_serving(results, lab):
    """The page `/` of 10,000 posts: as a visitor gets it (nginx's page cache, as the lab
    inventory sets it), as a logged-in user gets it (a cookie: every request reaches
    gunicorn), and from the Flask development server; plus a static file."""
    host = "bench"
    lab.sh(host, "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk curl >/dev/null")
    app = "cd /srv/flasky/current && runuser -u flasky -- venv/bin/flask --app flasky.wsgi"
    log(lab.sh(host, f"{app} seed --users 1000 --posts 10000").strip())
    page = "/"
    out = {"page": page, "microcache_seconds": yaml.safe_load(LAB_VARS.read_text()).get("nginx_microcache_seconds", 0)}
    cache = lab.sh(host, f"curl -sk -o /dev/null -D - https://localhost{page}; "
                         f"curl -sk -o /dev/null -D - https://localhost{page}")
    out["cache_status_second_request"] = (re.findall(r"x-cache-status: (\w+)", cache, re.I) or [None])[-1]
    out["nginx_gunicorn"] = parse_wrk(lab.sh(host, f"{WRK} https://localhost{page}"))
    out["nginx_gunicorn_uncached"] = parse_wrk(lab.sh(host, f"{WRK} -H 'Cookie: bench=1' https://localhost{page}"))
    out["static"] = parse_wrk(lab.sh(host, f"{WRK} https://localhost/static/style.css"))
    # the development server on the same container, data and .env
    lab.sh(host, f"{app} run --host 127.0.0.1 --port 5000 >/tmp/devserver.log 2>&1 & "
                 "for i in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:5000/ && exit 0; sleep 0.2; done; exit 1")
    try:
        out["flask_dev_server"] = parse_wrk(lab.sh(host, f"{WRK} http://127.0.0.1:5000{page}"))
    finally:
        lab.sh(host, "pkill -f '[f]lask --app flasky.wsgi run' || true")
    dev = out["flask_dev_server"]["rps"]
    out["nginx_over_dev"] = round(out["nginx_gunicorn"]["rps"] / dev, 1)
    out["uncached_over_dev"] = round(out["nginx_gunicorn_uncached"]["rps"] / dev, 1)
    out["static_over_page"] = round(out["static"]["rps"] / out["nginx_gunicorn_uncached"]["rps"], 1)
    results["serving"] = out
    log(f"serving: {json.dumps(out)}")


# --- 3. upgrade -----------------------------------------------------------------------------

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


def cpu_seconds(prefix):
    """CPU seconds used so far by the lab's containers (cgroup v1 or v2) and by this process's
    finished children (ansible-playbook and its forks)."""
    ids = subprocess.run(["docker", "ps", "--no-trunc", "-q", "--filter", f"name=^{prefix}-"],
                         capture_output=True, text=True).stdout.split()
    hosts = 0.0
    for cid in ids:
        v1 = pathlib.Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
        v2 = pathlib.Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat")
        if v1.exists():
            hosts += int(v1.read_text()) / 1e9
        elif v2.exists():
            hosts += int(re.search(r"usage_usec (\d+)", v2.read_text()).group(1)) / 1e6
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return hosts, children.ru_utime + children.ru_stime


# --- 4. fleet -------------------------------------------------------------------------------

def bench_fleet(results, sizes):
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
            cpu = {"hosts": round(hosts_after - hosts_before, 1), "controller": round(controller_after - controller_before, 1)}
            rows.append({"app_hosts": n, "hosts": len(hosts), "fresh_seconds": fresh["seconds"],
                         "fresh_cpu_seconds": cpu, "cpu_over_cores": round((cpu["hosts"] + cpu["controller"]) / os.cpu_count(), 1),
                         "rerun_seconds": rerun["seconds"], "rerun_changed": rerun["changed"]})
            log(f"fleet {n}: {rows[-1]}")
        finally:
            lab.down()
        base = rows[0]["fresh_seconds"]
        for r in rows:
            r["fresh_over_one"] = round(r["fresh_seconds"] / base, 2)
        results["fleet"] = rows
        write_report(results)  # a long part: keep what is measured so far
    base = rows[0]["fresh_seconds"] if rows else 1
    for r in rows:
        r["fresh_over_one"] = round(r["fresh_seconds"] / base, 2)
    results["fleet"] = rows


# --- report ---------------------------------------------------------------------------------

def goal(ok):
    return "met" if ok else "NOT met"


def write_report(results):
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = results["started"].replace(":", "").replace("-", "")
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [f"# flasky.deploy benchmarks ({results['started']}, {results['machine']})", "",
             *([f"Note: {results['note']}; each ratio below is measured side by side within one part.", ""]
               if results.get("note") else []),
             "| measure | value | goal | |", "|---|---|---|---|"]
    c = results.get("converge")
    if c:
        lines += [f"| converge fresh (1 host, Debian 12, over SSH) | {c['fresh']['seconds']} s, {c['fresh']['tasks']} tasks, {c['fresh']['changed']} changed | | |",
                  f"| converge rerun | {c['rerun']['seconds']} s, changed={c['rerun']['changed']} | changed=0 | {goal(c['rerun']['changed'] == 0)} |",
                  f"| rerun / fresh | {c['rerun_over_fresh']} | <= 0.10 | {goal(c['rerun_over_fresh'] <= 0.10)} |"]
        for name, s in c["settings"].items():
            if name == "wheelhouse_once":
                lines.append(f"| wheelhouse: cold build / cached (built once per run) | {s.get('cold')} s / {s.get('cached')} s = {s.get('cold_over_cached')}x | | |")
            elif name == "mitogen" and "error" in s:
                lines.append(f"| with Mitogen (optional strategy) | failed: {' '.join(s['error'].split())[:200]} | | |")
            elif name == "mitogen":
                lines += [f"| with Mitogen (optional strategy): fresh / rerun | {s['fresh_seconds']} s / {s['rerun_seconds']} s (changed={s['rerun_changed']}) = {s['rerun_over_fresh']} | <= 0.10 | {goal(s['rerun_over_fresh'] <= 0.10)} |",
                          f"| default / Mitogen: fresh, rerun | {s['default_over_mitogen_fresh']}x, {s['default_over_mitogen_rerun']}x | | |"]
            else:
                lines.append(f"| rerun without {name} / with | {s['off_seconds']} s / {s['on_seconds']} s = {s['off_over_on']}x | | |")
    s = results.get("serving")
    if s:
        n, d, st = s["nginx_gunicorn"], s["flask_dev_server"], s["static"]
        un = s["nginx_gunicorn_uncached"]
        lines += [f"| page `/` (10,000 posts) via nginx+gunicorn, a visitor (page cache {s['microcache_seconds']} s; 2nd request {s['cache_status_second_request']}) | {n['rps']} req/s, p50 {n['p50_ms']} ms, p99 {n['p99_ms']} ms, {n['errors']} errors | p99 < 100 ms, 0 errors | {goal((n['p99_ms'] or 1e9) < 100 and n['errors'] == 0)} |",
                  f"| same page, a logged-in user (cookie: every request to gunicorn) | {un['rps']} req/s, p50 {un['p50_ms']} ms, p99 {un['p99_ms']} ms, {un['errors']} errors | | |",
                  f"| same page via the Flask dev server | {d['rps']} req/s, p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms, {d['errors']} errors | | |",
                  f"| nginx+gunicorn / dev server (visitor) | {s['nginx_over_dev']}x | >= 5x | {goal(s['nginx_over_dev'] >= 5)} |",
                  f"| nginx+gunicorn / dev server (logged-in, no cache) | {s['uncached_over_dev']}x | | |",
                  f"| static file / page without cache | {st['rps']} / {un['rps']} req/s = {s['static_over_page']}x | >= 20x | {goal(s['static_over_page'] >= 20)} |"]
    u = results.get("upgrade")
    if u:
        lines += [f"| rolling upgrade, 2 app hosts, 100 req/s | {u['wall_seconds']} s, {u['during']['requests']} requests, {u['during']['failed']} failed | 0 failed | {goal(u['during']['failed'] == 0)} |",
                  f"| p99 during / steady | {u['during']['latency_ms']['p99']} / {u['steady']['latency_ms']['p99']} ms = {u['p99_during_over_steady']}x | <= 2x | {goal(u['p99_during_over_steady'] <= 2)} |"]
    f = results.get("fleet")
    if f:
        for r in f:
            cpu = r.get("fresh_cpu_seconds")
            cpu_text = (f"; CPU {cpu['hosts']} s hosts + {cpu['controller']} s controller, i.e. at least {r['cpu_over_cores']} s of wall time on "
                        f"{results['machine']}" if cpu else "")
            lines.append(f"| fleet: {r['app_hosts']} app host(s) ({r['hosts']} hosts) fresh / rerun | {r['fresh_seconds']} s ({r['fresh_over_one']}x one){cpu_text} / {r['rerun_seconds']} s | 8 app hosts <= 2x one | {goal(r['fresh_over_one'] <= 2) if r['app_hosts'] == 8 else ''} |")
    if c and c.get("rerun_by_role"):
        fresh_roles = {r["role"]: r["seconds"] for r in c.get("fresh_by_role", [])}
        lines += ["", "Where the time goes, by role (profile_tasks; tasks run in the rerun, skipped ones included):", "",
                  "| role | fresh s | rerun s | tasks |", "|---|---|---|---|"] + \
                 [f"| {r['role']} | {fresh_roles.get(r['role'], '')} | {r['seconds']} | {r['tasks']} |"
                  for r in c["rerun_by_role"]]
    if c:
        lines += ["", "Slowest tasks of the no-op rerun (profile_tasks):", ""] + \
                 [f"- {t['seconds']} s {t['task']}" for t in c["rerun_profile"]]
    lines += ["", "Reproduce: `make bench` (benchmarks/run.py). Plot: latest.png."]
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    plot(results)


def plot(results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plot")
        return
    panels = [k for k in ("converge", "serving", "fleet") if k in results]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4))
    axes = [axes] if len(panels) == 1 else axes
    for ax, key in zip(axes, panels):
        if key == "converge":
            c = results["converge"]
            offs = {k: s for k, s in c["settings"].items() if "off_seconds" in s}
            names = ["fresh", "rerun"] + [f"rerun\nno {k}" for k in offs]
            values = [c["fresh"]["seconds"], c["rerun"]["seconds"]] + [s["off_seconds"] for s in offs.values()]
            if "fresh_seconds" in c["settings"].get("mitogen", {}):
                names += ["fresh\nmitogen", "rerun\nmitogen"]
                values += [c["settings"]["mitogen"]["fresh_seconds"], c["settings"]["mitogen"]["rerun_seconds"]]
            ax.bar(range(len(names)), values, color="#1d3557")
            ax.set_xticks(range(len(names)), [n.replace("\n", " ") for n in names], rotation=35, ha="right", fontsize=7)
            ax.axhline(c["fresh"]["seconds"] * 0.10, color="#e63946", ls="--", lw=1, label="goal: rerun <= 10% of fresh")
            ax.legend(fontsize=7)
            ax.set_ylabel("seconds")
            ax.set_title("converge (1 host, SSH)")
        elif key == "serving":
            s = results["serving"]
            ax.bar(["dev server", "nginx+gunicorn\nlogged-in", "nginx+gunicorn\nvisitor", "static\n(nginx)"],
                   [s["flask_dev_server"]["rps"], s["nginx_gunicorn_uncached"]["rps"],
                    s["nginx_gunicorn"]["rps"], s["static"]["rps"]], color="#457b9d")
            ax.tick_params(axis="x", labelsize=7)
            ax.set_yscale("log")
            ax.set_ylabel("requests/s (log)")
            ax.set_title("serving, wrk 64 connections")
        else:
            f = results["fleet"]
            ax.plot([r["app_hosts"] for r in f], [r["fresh_seconds"] for r in f], "o-", label="fresh")
            ax.plot([r["app_hosts"] for r in f], [r["rerun_seconds"] for r in f], "s-", label="rerun")
            ax.axhline(f[0]["fresh_seconds"] * 2, color="#e63946", ls="--", lw=1, label="goal: 8 hosts <= 2x one")
            ax.set_xlabel("app hosts")
            ax.set_ylabel("seconds")
            ax.set_title("fleet converge")
            ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "latest.png", dpi=110)


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
        bench_fleet(results, [int(n) for n in args.fleet.split(",")])
    write_report(results)
    log(f"results: {RESULTS / 'latest.md'}")


if __name__ == "__main__":
    main()
