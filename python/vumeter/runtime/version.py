"""The vumeter version that the integrations report: in health bodies, in the trace and log
resource (``service.version``) and as the version of vumeter's tracers.

The metrics layer (``vumeter/__init__.py``) computes it, since ``vumeter.__version__`` is
where users look; this module hands it on so that no integration imports the top-level
package for it.
"""

from vumeter import __version__

__all__ = ["__version__"]
