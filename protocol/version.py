"""The installed footfall version: the ``software_version`` every message carries."""

from importlib.metadata import PackageNotFoundError, version

try:
    SOFTWARE_VERSION = version("footfall")
except PackageNotFoundError:  # running from a source tree that is not installed
    SOFTWARE_VERSION = "0.0.0+source"
