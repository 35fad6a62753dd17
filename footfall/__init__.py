"""footfall: open-source in-store occupancy analytics from camera feeds."""

from protocol.version import SOFTWARE_VERSION

__version__ = SOFTWARE_VERSION
