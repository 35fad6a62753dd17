"""footfall: open-source in-store occupancy analytics from camera feeds."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("footfall")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
