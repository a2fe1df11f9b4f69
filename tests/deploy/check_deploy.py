#!/usr/bin/env python3
"""Checks what deploy/ gives operators (docs/operations.md, "Alerts" and
"Dashboard"):

- deploy/grafana/xxl-executor.json is well-formed JSON, importable (a
  Prometheus data-source variable DS_PROMETHEUS, the job and instance
  variables, unique panel ids, panels that do not overlap), is what
  make_dashboard.py writes, and every query selects job and instance, names
  only metrics the executor exports, and parses as PromQL (through promtool,
  the variables replaced by values);
- deploy/prometheus/alerts.yml names only those metrics; every alert has a
  severity, summary, description and a runbook that points at an existing
  section of docs/operations.md;
- the Kubernetes scrape job of docs/operations.md passes promtool check
  config, its pod discovery replaced by a static target (Debian's promtool
  has no Kubernetes discovery).

    check_deploy.py SOURCE_DIR PROMTOOL

Exit 0 when all holds; else one line per problem.
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

# The executor's metrics (docs/operations.md, "Metrics"), with the standard
# process metrics and Prometheus's own `up`.
COUNTERS = """runs_accepted_total runs_refused_total runs_finished_total
outbox_spills_total outbox_journal_errors_total callback_batches_total
requests_total connections_refused_total""".split()
GAUGES = """runs_running runs_queued job_threads job_threads_limit
worker_threads worker_threads_limit runs_queued_limit
outbox_pending_results outbox_oldest_pending_age_seconds outbox_bytes
admin_up registration_age_seconds taillog_streams connections_open
connections_limit draining build_info""".split()
HISTOGRAMS = """run_duration_seconds run_queue_wait_seconds
callback_duration_seconds request_duration_seconds""".split()
KNOWN = ({"xxl_executor_" + n for n in COUNTERS + GAUGES} |
         {"xxl_executor_" + n + s for n in HISTOGRAMS
          for s in ("_bucket", "_sum", "_count")} |
         {"process_resident_memory_bytes", "process_open_fds",
          "process_max_fds", "process_cpu_seconds_total",
          "process_start_time_seconds", "process_threads", "up"})
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
DASHBOARD_SELECTION = 'job="$job", instance=~"$instance"'
# Bare metric names in an expression: identifiers that are not PromQL
# functions, keywords, or label names inside by()/on()/{}.
PROMQL_WORDS = {"sum", "max", "min", "count", "avg", "by", "on", "and", "or",
                "unless", "rate", "increase", "deriv", "histogram_quantile",
                "clamp_max", "time", "ignoring", "group_left", "offset"}


def metric_names(expr):
    """The metric names an expression selects."""
    text = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    text = re.sub(r"\b(by|on|ignoring)\s*\([^)]*\)", "", text)  # groupings
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    words = re.findall(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()",
                       text)
    return {w for w in words if w not in PROMQL_WORDS}


def anchors(markdown):
    """GitHub's anchors of a Markdown file's headings."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(a.replace(" ", "-"))
    return out


def panels_of(dashboard):
    for p in dashboard["panels"]:
        yield p
        yield from p.get("panels", [])


def check_dashboard(root, promtool, bad):
    path = root / "deploy/grafana/xxl-executor.json"
    text = path.read_text()
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        bad.append(f"{path}: not JSON: {e}")
        return []
    made = subprocess.run([sys.executable,
                           str(root / "deploy/grafana/make_dashboard.py")],
                          capture_output=True, text=True, check=True).stdout
    if made != text:
        bad.append(f"{path}: not what make_dashboard.py writes; run it")
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("DS_PROMETHEUS", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        bad.append(f"{path}: no Prometheus data-source variable DS_PROMETHEUS")
    for name in ("job", "instance"):
        if variables.get(name, {}).get("type") != "query":
            bad.append(f"{path}: no {name} variable")
    if not variables.get("instance", {}).get("includeAll"):
        bad.append(f"{path}: the instance variable has no All")
    ids, cells, exprs = set(), {}, []
    for p in panels_of(d):
        where = f"{path}: panel {p.get('id')} ({p.get('title')})"
        if p.get("id") in ids:
            bad.append(f"{where}: id used twice")
        ids.add(p.get("id"))
        g = p["gridPos"]
        if g["x"] + g["w"] > 24:
            bad.append(f"{where}: wider than the grid")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    bad.append(f"{where}: overlaps panel {cells[(x, y)]}")
                    break
                cells[(x, y)] = p["id"]
            else:
                continue
            break
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            bad.append(f"{where}: data source is not ${{DS_PROMETHEUS}}")
        if not p.get("targets"):
            bad.append(f"{where}: no query")
        for t in p.get("targets", []):
            expr = t["expr"]
            exprs.append(expr)
            for name, labels in SELECTOR.findall(expr):
                if not labels.startswith(DASHBOARD_SELECTION):
                    bad.append(f"{where}: {name} without {DASHBOARD_SELECTION}")
            for name in metric_names(expr):
                if name not in KNOWN:
                    bad.append(f"{where}: unknown metric {name}")
                if not re.search(rf"\b{name}\{{", expr):
                    bad.append(f"{where}: {name} without {DASHBOARD_SELECTION}")
    for metric in HISTOGRAMS:
        if metric in ("callback_duration_seconds",):
            continue
        for q in ("0.5", "0.99"):
            if not any(f"histogram_quantile({q}" in e and metric in e
                       for e in exprs):
                bad.append(f"{path}: no p{q[2:]} of xxl_executor_{metric}")
    return exprs


def check_promql(exprs, promtool, bad):
    """Parses the dashboard's queries: as recording rules, with the
    dashboard's variables replaced by values."""
    rules = ["groups:", "  - name: dashboard", "    rules:"]
    for i, e in enumerate(exprs):
        e = (e.replace("$__rate_interval", "5m").replace("$job", "x")
             .replace("$instance", ".*"))
        rules.append(f"      - record: dashboard_query_{i}")
        rules.append("        expr: " + json.dumps(e))
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write("\n".join(rules) + "\n")
        f.flush()
        r = subprocess.run([promtool, "check", "rules", f.name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            bad.append("dashboard queries do not parse: " + r.stdout + r.stderr)


def check_alerts(root, bad):
    path = root / "deploy/prometheus/alerts.yml"
    text = path.read_text()
    sections = anchors((root / "docs/operations.md").read_text())
    # One alert per "- alert:" item, up to the next one.
    items = re.split(r"\n\s*- alert: ", text)[1:]
    if not items:
        bad.append(f"{path}: no alert")
    for item in items:
        name = item.split("\n", 1)[0].strip()
        where = f"{path}: {name}"
        if not re.search(r"\n\s+severity: (critical|warning|info)\n", item):
            bad.append(f"{where}: no severity label")
        for key in ("summary", "description", "runbook"):
            if not re.search(rf"\n\s+{key}: ", item):
                bad.append(f"{where}: no {key} annotation")
        m = re.search(r"\n\s+runbook: docs/operations\.md#(\S+)", item)
        if m and m.group(1) not in sections:
            bad.append(f"{where}: runbook #{m.group(1)} is no section of "
                       "docs/operations.md")
        if m and m.group(1) != name.lower():
            bad.append(f"{where}: runbook #{m.group(1)} is not its own section")
        expr = re.search(r"\n\s+expr: (?:\|\n)?(.*?)\n\s+(?:for|labels):",
                         item, re.S)
        if not expr:
            bad.append(f"{where}: no expr")
            continue
        for metric in metric_names(expr.group(1)):
            if metric not in KNOWN:
                bad.append(f"{where}: unknown metric {metric}")
            if not re.search(rf"\b{metric}\{{", expr.group(1)):
                bad.append(f'{where}: {metric} without job="xxl-executor"')
        for metric, labels in SELECTOR.findall(expr.group(1)):
            if 'job="xxl-executor"' not in labels:
                bad.append(f'{where}: {metric} without job="xxl-executor"')


def check_kubernetes_job(root, promtool, bad):
    docs = (root / "docs/operations.md").read_text()
    m = re.search(r"```yaml\n(scrape_configs:\n  - job_name: xxl-executor-pods"
                  r".*?)```", docs, re.S)
    if not m:
        bad.append("docs/operations.md: no xxl-executor-pods scrape job")
        return
    config = m.group(1).replace(
        "kubernetes_sd_configs:\n      - role: pod",
        'static_configs:\n      - targets: ["pod:9180"]')
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write(config)
        f.flush()
        r = subprocess.run([promtool, "check", "config", f.name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            bad.append("docs/operations.md: the Kubernetes scrape job: " +
                       r.stdout + r.stderr)


def main():
    root = pathlib.Path(sys.argv[1])
    promtool = sys.argv[2]
    bad = []
    exprs = check_dashboard(root, promtool, bad)
    if exprs:
        check_promql(exprs, promtool, bad)
    check_alerts(root, bad)
    check_kubernetes_job(root, promtool, bad)
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
