"""The report of the benchmarks: benchmarks/results/latest.{md,json,png} and a dated copy of the
JSON, rewritten from the results of the parts."""

import json

from common import RESULTS, log


def goal(ok):
    return "met" if ok else "NOT met"


def row(measure, value, wanted="", verdict=""):
    return f"| {measure} | {value} |" + (f" {wanted} |" if wanted else " |") + (f" {verdict} |" if verdict else " |")


def converge_rows(converge):
    fresh, rerun, ratio = converge["fresh"], converge["rerun"], converge["rerun_over_fresh"]
    runs = rerun.get("runs_seconds", [])  # older results: one rerun, no list
    rows = [row("converge fresh (1 host, Debian 12, over SSH)",
                f"{fresh['seconds']} s, {fresh['tasks']} tasks, {fresh['changed']} changed"),
            row("converge rerun" + (" (the best of two)" if len(runs) > 1 else ""),
                f"{rerun['seconds']} s" + (f" (runs: {', '.join(map(str, runs))} s)" if len(runs) > 1 else "")
                + f", changed={rerun['changed']}", "changed=0",
                goal(rerun["changed"] == 0)),
            row("rerun / fresh", ratio, "<= 0.10", goal(ratio <= 0.10)),
            row("rerun (issue 16: 15 s over SSH)", f"{rerun['seconds']} s", "<= 15 s", goal(rerun["seconds"] <= 15))]
    if "drift_repair" in converge:
        repair = converge["drift_repair"]
        rows.append(row("drift repair (a package removed, a service stopped, a file edited, a mode opened)",
                        f"{repair['seconds']} s, changed={repair['changed']}, repaired: "
                        + ", ".join(name for name, ok in repair["repaired"].items() if ok),
                        "all four", goal(all(repair["repaired"].values()))))
    if "apt_floor" in converge:
        floor = converge["apt_floor"]
        rows += [row("apt floor: one transaction of the same packages on a bare host",
                     f"{floor['seconds']} s, {floor['packages']} packages"),
                 row("fresh / apt floor", converge["fresh_over_floor"], "<= 1.6",
                     goal(converge["fresh_over_floor"] <= 1.6))]
    for name, setting in converge["settings"].items():
        if name == "wheelhouse_once":
            rows.append(row("wheelhouse: cold build / cached (built once per run)",
                            f"{setting.get('cold')} s / {setting.get('cached')} s = "
                            f"{setting.get('cold_over_cached')}x"))
        elif name == "mitogen" and "error" in setting:
            rows.append(row("with Mitogen (optional strategy)", f"failed: {' '.join(setting['error'].split())[:200]}"))
        elif name == "mitogen":
            rows += [row("with Mitogen (optional strategy): fresh / rerun",
                         f"{setting['fresh_seconds']} s / {setting['rerun_seconds']} s "
                         f"(changed={setting['rerun_changed']}) = {setting['rerun_over_fresh']}",
                         "<= 0.10", goal(setting["rerun_over_fresh"] <= 0.10)),
                     row("default / Mitogen: fresh, rerun",
                         f"{setting['default_over_mitogen_fresh']}x, {setting['default_over_mitogen_rerun']}x")]
        else:
            rows.append(row(f"rerun without {name} / with",
                            f"{setting['off_seconds']} s / {setting['on_seconds']} s = {setting['off_over_on']}x"))
    return rows


def wrk_text(result):
    return (f"{result['rps']} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
            f"{result['errors']} errors")


def serving_rows(serving):
    visitor, logged_in = serving["nginx_gunicorn"], serving["nginx_gunicorn_uncached"]
    dev, static = serving["flask_dev_server"], serving["static"]
    return [row(f"page `/` (10,000 posts) via nginx+gunicorn, a visitor (page cache {serving['microcache_seconds']} s; "
                f"2nd request {serving['cache_status_second_request']})", wrk_text(visitor), "p99 < 100 ms, 0 errors",
                goal((visitor["p99_ms"] or 1e9) < 100 and visitor["errors"] == 0)),
            row("same page, a logged-in user (cookie: every request to gunicorn)", wrk_text(logged_in)),
            row("same page via the Flask dev server", wrk_text(dev)),
            row("nginx+gunicorn / dev server (visitor)", f"{serving['nginx_over_dev']}x", ">= 5x",
                goal(serving["nginx_over_dev"] >= 5)),
            row("nginx+gunicorn / dev server (logged-in, no cache)", f"{serving['uncached_over_dev']}x"),
            row("static file / page without cache",
                f"{static['rps']} / {logged_in['rps']} req/s = {serving['static_over_page']}x", ">= 20x",
                goal(serving["static_over_page"] >= 20))]


def upgrade_rows(upgrade):
    during, steady = upgrade["during"], upgrade["steady"]
    return [row("rolling upgrade, 2 app hosts, 100 req/s",
                f"{upgrade['wall_seconds']} s, {during['requests']} requests, {during['failed']} failed", "0 failed",
                goal(during["failed"] == 0)),
            row("p99 during / steady",
                f"{during['latency_ms']['p99']} / {steady['latency_ms']['p99']} ms = "
                f"{upgrade['p99_during_over_steady']}x",
                "<= 2x", goal(upgrade["p99_during_over_steady"] <= 2))]


def fleet_rows(fleet, machine):
    rows = []
    for size in fleet:
        cpu = size.get("fresh_cpu_seconds")
        cpu_text = (f"; CPU {cpu['hosts']} s hosts + {cpu['controller']} s controller, i.e. at least "
                    f"{size['cpu_over_cores']} s of wall time on {machine}" if cpu else "")
        rerun_cpu = size.get("rerun_cpu_seconds")
        rerun_text = (f" (CPU {rerun_cpu['hosts']} s hosts + {rerun_cpu['controller']} s controller, "
                      f"{size['rerun_controller_cpu_per_host']} s controller per host)" if rerun_cpu else "")
        rows.append(row(f"fleet: {size['app_hosts']} app host(s) ({size['hosts']} hosts) fresh / rerun",
                        f"{size['fresh_seconds']} s ({size['fresh_over_one']}x one){cpu_text} / "
                        f"{size['rerun_seconds']} s{rerun_text}",
                        "8 app hosts <= 2x one", goal(size["fresh_over_one"] <= 2) if size["app_hosts"] == 8 else ""))
    return rows


def profile_lines(converge):
    lines = []
    if converge.get("rerun_by_role"):
        fresh_roles = {role["role"]: role["seconds"] for role in converge.get("fresh_by_role", [])}
        lines += ["", "Where the time goes, by role (profile_tasks; tasks run in the rerun, skipped ones included):",
                  "",
                  "| role | fresh s | rerun s | tasks |", "|---|---|---|---|"]
        lines += [f"| {role['role']} | {fresh_roles.get(role['role'], '')} | {role['seconds']} | {role['tasks']} |"
                  for role in converge["rerun_by_role"]]
    lines += ["", "Slowest tasks of the no-op rerun (profile_tasks):", ""]
    lines += [f"- {task['seconds']} s {task['task']}" for task in converge["rerun_profile"]]
    return lines


def write_report(results):
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = results["started"].replace(":", "").replace("-", "")
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [f"# flasky.deploy benchmarks ({results['started']}, {results['machine']})", "",
             *([f"Note: {results['note']}; each ratio below is measured side by side within one part.", ""]
               if results.get("note") else []),
             "| measure | value | goal | |", "|---|---|---|---|"]
    if results.get("converge"):
        lines += converge_rows(results["converge"])
    if results.get("serving"):
        lines += serving_rows(results["serving"])
    if results.get("upgrade"):
        lines += upgrade_rows(results["upgrade"])
    if results.get("fleet"):
        lines += fleet_rows(results["fleet"], results["machine"])
    if results.get("converge"):
        lines += profile_lines(results["converge"])
    lines += ["", "Reproduce: `make bench` (benchmarks/run.py). Plot: latest.png."]
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    plot(results)


def plot_converge(ax, converge):
    switched_off = {name: s for name, s in converge["settings"].items() if "off_seconds" in s}
    names = ["fresh", "rerun"] + [f"rerun no {name}" for name in switched_off]
    values = [converge["fresh"]["seconds"], converge["rerun"]["seconds"]]
    values += [setting["off_seconds"] for setting in switched_off.values()]
    mitogen = converge["settings"].get("mitogen", {})
    if "fresh_seconds" in mitogen:
        names += ["fresh mitogen", "rerun mitogen"]
        values += [mitogen["fresh_seconds"], mitogen["rerun_seconds"]]
    ax.bar(range(len(names)), values, color="#1d3557")
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=7)
    ax.axhline(converge["fresh"]["seconds"] * 0.10, color="#e63946", ls="--", lw=1,
               label="goal: rerun <= 10% of fresh")
    ax.legend(fontsize=7)
    ax.set_ylabel("seconds")
    ax.set_title("converge (1 host, SSH)")


def plot_serving(ax, serving):
    ax.bar(["dev server", "nginx+gunicorn\nlogged-in", "nginx+gunicorn\nvisitor", "static\n(nginx)"],
           [serving["flask_dev_server"]["rps"], serving["nginx_gunicorn_uncached"]["rps"],
            serving["nginx_gunicorn"]["rps"], serving["static"]["rps"]], color="#457b9d")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("requests/s (log)")
    ax.set_title("serving, wrk 64 connections")


def plot_fleet(ax, fleet):
    sizes = [size["app_hosts"] for size in fleet]
    ax.plot(sizes, [size["fresh_seconds"] for size in fleet], "o-", label="fresh")
    ax.plot(sizes, [size["rerun_seconds"] for size in fleet], "s-", label="rerun")
    ax.axhline(fleet[0]["fresh_seconds"] * 2, color="#e63946", ls="--", lw=1, label="goal: 8 hosts <= 2x one")
    ax.set_xlabel("app hosts")
    ax.set_ylabel("seconds")
    ax.set_title("fleet converge")
    ax.legend()


def plot(results):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plot")
        return
    panels = [(key, draw) for key, draw in (("converge", plot_converge), ("serving", plot_serving),
                                            ("fleet", plot_fleet)) if key in results]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4))
    axes = [axes] if len(panels) == 1 else axes
    for ax, (key, draw) in zip(axes, panels, strict=True):
        draw(ax, results[key])
    fig.tight_layout()
    fig.savefig(RESULTS / "latest.png", dpi=110)
