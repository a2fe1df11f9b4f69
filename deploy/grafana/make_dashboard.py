#!/usr/bin/env python3
"""Writes the Grafana dashboard deploy/grafana/xxl-executor.json from the
panels below (edit here, then run it; tests/deploy/check_dashboard.py fails
when the JSON and this script disagree):

    deploy/grafana/make_dashboard.py > deploy/grafana/xxl-executor.json

Every query selects the dashboard's variables: the Prometheus data source
(DS_PROMETHEUS), the scrape job (job, "xxl-executor" by default, as in
deploy/prometheus) and the executors (instance, several or all).
"""
import json
import sys

SEL = 'job="$job", instance=~"$instance"'
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
RATE = "$__rate_interval"


def sel(extra=""):
    return "{" + SEL + (", " + extra if extra else "") + "}"


def quantiles(metric, by, legend):
    """p50 and p99 of a histogram, summed over instances by `by`."""
    group = ", ".join(["le"] + by)
    return [
        (f"histogram_quantile({q}, sum by ({group}) "
         f"(rate({metric}_bucket{sel()}[{RATE}])))",
         f"p{int(q * 100)} {legend}")
        for q in (0.5, 0.99)
    ]


def panel(kind, title, targets, unit="short", description="", **extra):
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [{
            "datasource": DS,
            "refId": chr(ord("A") + i),
            "expr": expr,
            "legendFormat": legend,
        } for i, (expr, legend) in enumerate(targets)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
    }
    if kind == "timeseries":
        p["fieldConfig"]["defaults"]["custom"] = {"fillOpacity": 10,
                                                  "showPoints": "never"}
        p["options"] = {"legend": {"displayMode": "list",
                                   "placement": "bottom"},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    elif kind in ("stat", "bargauge"):
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"],
                                          "fields": "", "values": False}}
    for key, value in extra.items():
        if key == "thresholds":
            p["fieldConfig"]["defaults"]["thresholds"] = {
                "mode": "absolute",
                "steps": [{"color": c, "value": v} for v, c in value]}
            p["fieldConfig"]["defaults"]["color"] = {"mode": "thresholds"}
        elif key in ("min", "max", "mappings"):
            p["fieldConfig"]["defaults"][key] = value
        else:
            p[key] = value
    return p


GREEN_RED = [(None, "green"), (1, "red")]
SATURATION = [(None, "green"), (0.75, "orange"), (0.9, "red")]


def over_bound(used, limit, legend):
    """A target: `used` over its bound (no series while the bound is 0)."""
    return (f"{used}{sel()} / ({limit}{sel()} > 0)", legend)


# Threads and queue, connections and descriptors, each over its bound.
THREAD_BOUNDS = [
    over_bound("xxl_executor_job_threads", "xxl_executor_job_threads_limit",
               "{{instance}} job threads"),
    over_bound("xxl_executor_worker_threads",
               "xxl_executor_worker_threads_limit", "{{instance}} workers"),
    over_bound("xxl_executor_runs_queued", "xxl_executor_runs_queued_limit",
               "{{instance}} queued"),
]
FD_BOUNDS = [
    over_bound("xxl_executor_connections_open",
               "xxl_executor_connections_limit",
               "{{instance}} {{transport}} connections"),
    over_bound("process_open_fds", "process_max_fds",
               "{{instance}} descriptors"),
]

ROWS = [
    ("Overview", 4, [
        panel("stat", "Up", [(f"up{sel()}", "{{instance}}")],
              description="1: Prometheus scraped the executor.",
              thresholds=[(None, "red"), (1, "green")],
              mappings=[{"type": "value", "options": {
                  "0": {"text": "down"}, "1": {"text": "up"}}}]),
        panel("stat", "Version", [(f"xxl_executor_build_info{sel()}",
                                   "{{version}}")],
              options={"reduceOptions": {"calcs": ["lastNotNull"],
                                         "fields": "", "values": False},
                       "textMode": "name"}),
        panel("stat", "Uptime",
              [(f"time() - process_start_time_seconds{sel()}",
                "{{instance}}")], unit="s"),
        panel("stat", "Draining", [(f"xxl_executor_draining{sel()}",
                                    "{{instance}}")],
              description="1 while a graceful shutdown runs.",
              thresholds=[(None, "green"), (1, "orange")]),
        panel("stat", "Admins reachable",
              [(f"sum(xxl_executor_admin_up{sel()}) / "
                f"count(xxl_executor_admin_up{sel()})", "")],
              unit="percentunit", min=0, max=1,
              description="Share of the configured admins whose last "
              "call succeeded.",
              thresholds=[(None, "red"), (0.5, "orange"), (1, "green")]),
        panel("stat", "Registration age",
              [(f"max(xxl_executor_registration_age_seconds{sel()})", "")],
              unit="s",
              description="Since the last successful registration; an "
              "admin forgets an executor after 90 s.",
              thresholds=[(None, "green"), (60, "orange"), (90, "red")]),
        panel("stat", "Results pending",
              [(f"sum(xxl_executor_outbox_pending_results{sel()})", "")],
              thresholds=[(None, "green"), (1000, "orange")]),
        panel("stat", "Oldest pending result",
              [(f"max(xxl_executor_outbox_oldest_pending_age_seconds"
                f"{sel()})", "")], unit="s",
              thresholds=[(None, "green"), (300, "orange"), (900, "red")]),
    ]),
    ("Throughput and results", 8, [
        panel("timeseries", "Triggers accepted",
              [(f"sum by (glue_type) (rate(xxl_executor_runs_accepted_total"
                f"{sel()}[{RATE}]))", "{{glue_type}}")], unit="ops"),
        panel("timeseries", "Results by code",
              [(f"sum by (code) (rate(xxl_executor_runs_finished_total"
                f"{sel()}[{RATE}]))", "{{code}}")], unit="ops"),
        panel("timeseries", "Results by cause",
              [(f"sum by (cause) (rate(xxl_executor_runs_finished_total"
                f"{sel()}[{RATE}]))", "{{cause}}")], unit="ops"),
        panel("timeseries", "Triggers refused by reason",
              [(f"sum by (reason) (rate(xxl_executor_runs_refused_total"
                f"{sel()}[{RATE}]))", "{{reason}}")], unit="ops",
              description="data_dir: the data directory is full or "
              "failing; bound: --max_job_threads or --max_queue_depth."),
    ]),
    ("Latency", 8, [
        panel("timeseries", "Run duration",
              quantiles("xxl_executor_run_duration_seconds", [], "all"),
              unit="s", description="Execution time of finished runs, "
              "queue wait excluded."),
        panel("timeseries", "Run duration p99 by handler",
              quantiles("xxl_executor_run_duration_seconds", ["handler"],
                        "{{handler}}")[1:], unit="s"),
        panel("timeseries", "Queue wait",
              quantiles("xxl_executor_run_queue_wait_seconds", [], "all"),
              unit="s", description="From acceptance to start."),
        panel("timeseries", "Queue wait p99 by handler",
              quantiles("xxl_executor_run_queue_wait_seconds", ["handler"],
                        "{{handler}}")[1:], unit="s"),
        panel("timeseries", "Request duration",
              quantiles("xxl_executor_request_duration_seconds",
                        ["transport", "method"], "{{transport}} {{method}}"),
              unit="s", description="At the edge, per transport and "
              "method."),
        panel("timeseries", "Callback duration",
              quantiles("xxl_executor_callback_duration_seconds",
                        ["outcome"], "{{outcome}}"),
              unit="s", description="One batch of results sent to an "
              "admin."),
    ]),
    ("Backlog", 8, [
        panel("timeseries", "Runs running and queued",
              [(f"sum(xxl_executor_runs_running{sel()})", "running"),
               (f"sum(xxl_executor_runs_queued{sel()})", "queued")]),
        panel("timeseries", "Job threads",
              [(f"sum(xxl_executor_job_threads{sel()})", "alive"),
               (f"sum(xxl_executor_worker_threads{sel()})",
                "workers running a run")]),
        panel("timeseries", "TailLog streams",
              [(f"sum by (instance) (xxl_executor_taillog_streams{sel()})",
                "{{instance}}")]),
    ]),
    ("Delivery", 8, [
        panel("timeseries", "Results pending",
              [(f"xxl_executor_outbox_pending_results{sel()}",
                "{{instance}}")],
              description="Not yet accepted by an admin (memory, spilled, "
              "journaled)."),
        panel("timeseries", "Oldest pending result",
              [(f"xxl_executor_outbox_oldest_pending_age_seconds{sel()}",
                "{{instance}}")], unit="s",
              thresholds=[(None, "green"), (300, "orange"), (900, "red")]),
        panel("timeseries", "Outbox journal",
              [(f"xxl_executor_outbox_bytes{sel()}", "{{instance}} bytes")],
              unit="bytes"),
        panel("timeseries", "Outbox spills and journal errors",
              [(f"sum by (instance) (rate(xxl_executor_outbox_spills_total"
                f"{sel()}[{RATE}]))", "{{instance}} spills"),
               (f"sum by (instance) (rate("
                f"xxl_executor_outbox_journal_errors_total{sel()}[{RATE}]))",
                "{{instance}} journal errors")], unit="ops"),
        panel("timeseries", "Callback batches",
              [(f"sum by (outcome) (rate(xxl_executor_callback_batches_total"
                f"{sel()}[{RATE}]))", "{{outcome}}")], unit="ops"),
        panel("timeseries", "Admin reachable",
              [(f"xxl_executor_admin_up{sel()}",
                "{{instance}} → {{admin}}")], min=0, max=1,
              description="1 if the last call to that admin succeeded."),
        panel("timeseries", "Registration age",
              [(f"clamp_max(xxl_executor_registration_age_seconds{sel()}, "
                f"3600)", "{{instance}}")], unit="s",
              description="Capped at an hour (it is very large before the "
              "first registration).",
              thresholds=[(None, "green"), (90, "red")]),
    ]),
    ("Saturation of the bounds", 8, [
        panel("bargauge", "Bounds now",
              THREAD_BOUNDS + FD_BOUNDS,
              unit="percentunit", min=0, max=1, thresholds=SATURATION,
              description="Use over bound: job threads / max_job_threads, "
              "workers / max_running, queued / its bound, connections / "
              "max_connections, open / max descriptors.",
              options={"reduceOptions": {"calcs": ["lastNotNull"],
                                         "fields": "", "values": False},
                       "orientation": "horizontal",
                       "displayMode": "gradient"}),
        panel("timeseries", "Threads and queue over their bounds",
              THREAD_BOUNDS,
              unit="percentunit", min=0, max=1, thresholds=SATURATION),
        panel("timeseries", "Connections and descriptors over their bounds",
              FD_BOUNDS,
              unit="percentunit", min=0, max=1, thresholds=SATURATION),
    ]),
    ("Edge and transports", 8, [
        panel("timeseries", "Requests",
              [(f"sum by (transport, method, status) (rate("
                f"xxl_executor_requests_total{sel()}[{RATE}]))",
                "{{transport}} {{method}} {{status}}")], unit="reqps"),
        panel("timeseries", "Connections open",
              [(f"sum by (transport) (xxl_executor_connections_open{sel()})",
                "{{transport}}")]),
        panel("timeseries", "Connections refused at accept",
              [(f"sum by (transport) (rate("
                f"xxl_executor_connections_refused_total{sel()}[{RATE}]))",
                "{{transport}}")], unit="ops",
              description="Closed at accept: the connection bound or the "
              "descriptor limit."),
    ]),
    ("Process", 8, [
        panel("timeseries", "Resident memory",
              [(f"process_resident_memory_bytes{sel()}", "{{instance}}")],
              unit="bytes"),
        panel("timeseries", "CPU",
              [(f"rate(process_cpu_seconds_total{sel()}[{RATE}])",
                "{{instance}}")], unit="percentunit",
              description="1 = one core busy."),
        panel("timeseries", "Threads",
              [(f"process_threads{sel()}", "{{instance}}")]),
        panel("timeseries", "Descriptors",
              [(f"process_open_fds{sel()}", "{{instance}} open"),
               (f"process_max_fds{sel()}", "{{instance}} limit")]),
    ]),
]


def layout():
    panels = []
    next_id = 1
    y = 0
    for title, height, row in ROWS:
        panels.append({"type": "row", "title": title, "id": next_id,
                       "collapsed": False, "panels": [],
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}})
        next_id += 1
        y += 1
        # Stats eight to a line; graphs all on one line up to four, else
        # on two lines.
        if row[0]["type"] == "stat":
            per_line = 8
        else:
            per_line = len(row) if len(row) <= 4 else (len(row) + 1) // 2
        width = 24 // per_line
        for i, p in enumerate(row):
            p["id"] = next_id
            next_id += 1
            p["gridPos"] = {"h": height, "w": width,
                            "x": (i % per_line) * width,
                            "y": y + (i // per_line) * height}
            panels.append(p)
        y += ((len(row) + per_line - 1) // per_line) * height
    return panels


def variable(name, label, query, **extra):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "query": {"query": query, "refId": name}, "definition": query,
         "refresh": 2, "sort": 1, "hide": 0, "current": {}, "options": []}
    v.update(extra)
    return v


def dashboard():
    return {
        "uid": "xxl-executor",
        "title": "xxl-executor",
        "description": "XXL-JOB executor: runs, results and their delivery, "
                       "the bounds, the process (docs/operations.md).",
        "tags": ["xxl-executor", "xxl-job"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 37,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "",
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": [
            {"name": "DS_PROMETHEUS", "label": "Data source",
             "type": "datasource", "query": "prometheus", "hide": 0,
             "current": {}, "options": [], "refresh": 1, "regex": ""},
            variable("job", "Job", "label_values(xxl_executor_build_info, job)",
                     current={"selected": True, "text": "xxl-executor",
                              "value": "xxl-executor"}),
            variable("instance", "Instance",
                     'label_values(xxl_executor_build_info{job="$job"}, '
                     'instance)', multi=True, includeAll=True,
                     current={"selected": True, "text": ["All"],
                              "value": ["$__all"]}),
        ]},
        "panels": layout(),
    }


if __name__ == "__main__":
    json.dump(dashboard(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
