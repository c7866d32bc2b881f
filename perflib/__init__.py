"""perflib: 预算绩效管理 analyses and report notebooks for a district finance bureau."""

import os as _os

__all__ = ["__version__"]

# Arrow's allocator for every perflib process (runner, zygote, kernels: they inherit it): the C
# library's. pyarrow's default, mimalloc, keeps what it frees: the province monitoring report's
# analysis took ~0.6 s longer and 60 MB more with it (benchmarks/README.md, the twelfth session).
# Read when pyarrow first allocates, so set before; a choice made in the environment wins.
_os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


def __getattr__(name: str):
    """``__version__`` looked up on first use: ``importlib.metadata`` costs ~40 ms, which the kernel
    launcher started for every report does not need."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("perflib")
    except PackageNotFoundError:  # running from a source tree without installation
        value = "0.0.0+src"
    globals()["__version__"] = value
    return value
