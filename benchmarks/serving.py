"""Part 2, serving: wrk against the DB-backed home page as a visitor (nginx's page cache), as a
logged-in user (every request to gunicorn) and from the Flask development server; a static
file."""

import json
import re

import yaml
from common import LAB_VARS, log

WRK = "wrk -t2 -c64 -d30s --latency"


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
    lab.sh(host, f"{app} run --host 127.0.0.1 --port 5000 >/tmp/devserver.log 2>&1 & for i in $(seq 50); do "
                 "curl -fs -o /dev/null http://127.0.0.1:5000/ && exit 0; sleep 0.2; done; exit 1")
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
