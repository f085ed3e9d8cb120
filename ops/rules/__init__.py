"""The Prometheus rules, built from an :class:`~ops.config.OpsConfig`: alerting rules
(:mod:`ops.rules.alerts`), recording rules (:mod:`ops.rules.recording`), and their YAML,
both as rule files and as a Kubernetes PrometheusRule (:mod:`ops.rules.render`)."""
