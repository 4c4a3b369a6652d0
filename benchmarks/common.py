"""What every benchmark part uses: the paths, the log, a generated lab (its containers, its
playbook runs), and the parsing of ansible-playbook's output."""

import json
import os
import pathlib
import re
import resource
import shutil
import subprocess
import time

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
        for host, member_of in hosts.items():
            for group in member_of:
                groups.setdefault(group, {})[host] = None
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
            log_file = self.dir / f"{label or pathlib.Path(playbook).stem}.log"
            raise RuntimeError(f"{playbook} failed ({label}): see {log_file}\n" + out.stdout[-3000:])
        recap = [dict(zip(("host", "ok", "changed", "unreachable", "failed", "skipped"),
                          (m[0], *map(int, m[1:])), strict=True)) for m in RECAP.findall(out.stdout)]
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
    for (task, *_), (_, h, m, sec) in zip(heads, heads[1:], strict=False):
        role = task.split(" : ")[0] if " : " in task else "(playbook tasks)"
        seconds, count = roles.get(role, (0.0, 0))
        roles[role] = (seconds + int(h) * 3600 + int(m) * 60 + float(sec), count + 1)
    ranked = sorted(roles.items(), key=lambda item: -item[1][0])
    return [{"role": role, "seconds": round(seconds, 1), "tasks": count} for role, (seconds, count) in ranked]


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
