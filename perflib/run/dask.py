"""``perflib run --dask tcp://HOST:PORT``: each report is one task on an existing Dask cluster; the
``dask`` executor of :mod:`perflib.run.executors`, registered when this module is imported.

The workers run the callable the runner hands every executor (the one local worker processes
run): each report its own kernel, forked from a zygote kept by each Dask worker process. They
need perflib installed (the same version as here), and the store, the notebooks folder and the
output folder at the same paths as on this machine (a shared folder mounted at the same place
everywhere). This module is imported only when ``--dask`` is given: without it, nothing of Dask
is imported.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from ..exceptions import ParameterError
from .executors import Executor, Work, register

log = logging.getLogger("perflib.runner")


def check_dask() -> None:
    """:class:`ParameterError` (exit 2) when dask.distributed is not installed here."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ParameterError("--dask 需要安装 dask.distributed（pip install 'perflib[dask]' 或 "
                             "pip install distributed）") from None


def _worker_version() -> str:
    from perflib import __version__

    return __version__


CONNECT_TIMEOUT = 5  # seconds: an address that does not answer is reported within this (issue 21)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """:class:`ParameterError` (exit 2) when nothing answers at ``address`` within ``timeout``
    seconds (Dask's own default waits 30 s): a plain TCP connection to HOST:PORT (a refused port
    is known at once), or for another scheme a Dask client."""
    import re
    import socket

    hint = "请检查地址（如 tcp://10.0.0.5:8786）和调度器是否已启动（dask scheduler）"
    m = re.fullmatch(r"(?:tcp://)?\[?([^\[\]/]+?)\]?:(\d+)/?", address.strip())
    try:
        if m:
            socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout).close()
        else:
            from distributed import Client

            Client(address, timeout=timeout, set_as_default=False).close()
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"无法连接 Dask 调度器 {address}（{exc}；最多等待 {timeout} 秒）。{hint}") from None


class Dask(Executor):
    """Each report one task on the Dask scheduler at ``address``."""

    def __init__(self, address: str, **_: Any):
        self.address = address

    def check(self) -> None:
        check_dask()
        check_reachable(self.address)  # before planning, even when there is nothing to render

    def __call__(self, work: Work, jobs: list) -> None:
        if jobs:
            run_on_dask(self.address, jobs, work)


def run_on_dask(address: str, jobs: list, work: Work) -> None:
    """Submit every job (``work.run``) to the scheduler at ``address`` and hand each result to
    ``work.done`` as it arrives. A task that fails on the cluster (its worker died, perflib missing
    there) fails its report (``work.lost``), not the run; an unreachable scheduler is a
    :class:`ParameterError` before any report."""
    from distributed import Client, as_completed

    from .. import __version__

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"无法连接 Dask 调度器 {address}：{exc}") from None
    try:
        try:
            versions = client.run(_worker_version)
        except Exception as exc:  # noqa: BLE001 - e.g. perflib not importable on a worker
            raise ParameterError(f"Dask 工作节点无法导入 perflib（工作节点需要安装 perflib）：{exc}") from None
        if not versions:
            raise ParameterError(f"Dask 调度器 {address} 没有工作节点")
        other = {w: v for w, v in versions.items() if v != __version__}
        if other:
            log.warning("Dask 工作节点的 perflib 版本与本机（%s）不同：%s", __version__,
                        "，".join(f"{w} {v}" for w, v in other.items()))
        run = uuid.uuid4().hex[:8]
        futures = {client.submit(work.run, job, key=f"perflib-{run}-{i:05d}-{job.notebook}",
                                 pure=False): job for i, job in enumerate(jobs)}
        for fut in as_completed(list(futures), loop=client.loop):
            job = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, CancelledError, ...
                res = work.lost(job, f"Dask 任务失败（{type(exc).__name__}: {exc}）")
            work.done(res)
    finally:
        client.close()


register("dask", Dask)
