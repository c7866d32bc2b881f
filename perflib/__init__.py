"""perflib: 预算绩效管理 analyses and report notebooks for a district finance bureau."""

__all__ = ["__version__"]


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
