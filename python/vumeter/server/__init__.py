"""vumeter's HTTP server: ``/metrics`` and Kubernetes-style health endpoints on aiohttp.

Synchronous worker::

    from vumeter.server import HealthChecks, serve
    from vumeter.server.checks import disk_space_check, models_loaded_check

    checks = HealthChecks(default_timeout=2.0, default_ttl=5.0)
    checks.add("disk", disk_space_check(["/tmp"], min_free_bytes=5 << 30))
    checks.add("models", models_loaded_check(models_ready))  # a threading.Event
    handle = serve(port=8080, checks=checks, install_signal_handlers=True)
    load_models(); models_ready.set(); checks.mark_started()

asyncio service: ``create_app(registry, checks)`` gives an ``aiohttp.web.Application`` to run
or mount, and :class:`MetricsServer` runs it with the same graceful drain. See docs/server.md.

Needs the ``server`` extra (``pip install vumeter[server]``) for aiohttp.
"""

from vumeter.server import checks
from vumeter.server.app import CHECKS_KEY, ENDPOINTS, create_app
from vumeter.server.health import CheckOutcome, CheckResult, HealthChecks, HealthReport
from vumeter.server.lifecycle import MetricsServer
from vumeter.server.limits import ServerLimits
from vumeter.server.runner import ServerHandle, serve

__all__ = [
    "CHECKS_KEY",
    "ENDPOINTS",
    "CheckOutcome",
    "CheckResult",
    "HealthChecks",
    "HealthReport",
    "MetricsServer",
    "ServerHandle",
    "ServerLimits",
    "checks",
    "create_app",
    "serve",
]
