"""vumeter's operations files, generated from one configuration (dev-side, not installed).

:class:`ops.config.OpsConfig` holds every setting the alerting rules, the recording rules,
the Kubernetes PrometheusRule and the Grafana dashboards share: which series are vumeter's
(the selector), the thresholds and ``for`` durations, the rate windows, the runbook URL
pattern and the dashboards' data source. ``python -m ops.generate`` writes them all;
``--check`` fails when a committed file is not what the configuration gives. See
docs/alerts.md and docs/dashboards.md.
"""
