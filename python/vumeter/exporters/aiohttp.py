"""prometheus_client's aiohttp handler (``make_aiohttp_handler``) rendering through
vumeter. Needs the ``server`` extra."""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from prometheus_client.registry import REGISTRY, Collector

from vumeter.exporters.baking import bake_output


def make_aiohttp_handler(
    registry: Collector = REGISTRY, disable_compression: bool = False
) -> Handler:
    """An aiohttp handler serving ``registry``; compression is aiohttp's, as there."""

    async def prometheus_handler(request: web.Request) -> web.Response:
        params = {key: request.query.getall(key) for key in request.query}
        accept_header = ",".join(request.headers.getall(hdrs.ACCEPT, []))
        status, headers, output = bake_output(
            registry, accept_header, "", params, disable_compression=True
        )
        response = web.Response(status=int(status.split(" ")[0]), headers=headers, body=output)
        if not disable_compression:
            response.enable_compression()
        return response

    return prometheus_handler
