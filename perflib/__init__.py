"""perflib: 预算绩效管理 analyses and report notebooks for a district finance bureau."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("perflib")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+src"

__all__ = ["__version__"]
