"""The kernel manager and client perflib runs reports with (:mod:`perflib.run.kernels`): the
readiness check and the shutdown wait that jupyter_client would stretch with fixed pauses."""
from __future__ import annotations

import asyncio
from queue import Empty

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from perflib.run import kernels


class FakeChannel:
    """A channel whose ``get_msg`` hands out queued messages and records each timeout asked for."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.timeouts: list[float | None] = []

    async def get_msg(self, timeout=None):
        self.timeouts.append(timeout)
        if not self.messages:
            raise Empty
        return self.messages.pop(0)


def _client(shell, iopub):
    """perflib's client with fake channels (a subclass: the real class is left as it is)."""
    class Fake(kernels._client_class()):
        shell_channel = property(lambda self: shell)
        iopub_channel = property(lambda self: iopub)

        async def is_alive(self):
            return True

    client = Fake()
    asked = []
    client.kernel_info = lambda: asked.append(1)
    return client, asked


REPLY = {"msg_type": "kernel_info_reply", "content": {"protocol_version": "5.3"}}
STATUS = {"msg_type": "status", "content": {"execution_state": "idle"}}


def test_ready_once_the_kernel_answered_and_iopub_spoke_dropping_only_what_arrived():
    shell = FakeChannel([REPLY])
    iopub = FakeChannel([{"msg_type": "iopub_welcome", "content": {}}, STATUS, STATUS])
    client, asked = _client(shell, iopub)
    asyncio.run(client.wait_for_ready(timeout=5))
    assert asked == [1]                      # one kernel_info request was enough
    assert iopub.messages == []              # the queued status messages were dropped
    # the handshake's wait for IOPub, then the drain: short waits, never jupyter_client's 0.2 s of silence
    assert iopub.timeouts[0] == 0.2 and iopub.timeouts[1:] == [kernels.IOPUB_SETTLE] * 3
    assert kernels.IOPUB_SETTLE < 0.2


def test_asks_again_while_iopub_is_not_connected():
    shell = FakeChannel([REPLY, REPLY])
    iopub = FakeChannel([])
    client, asked = _client(shell, iopub)

    real = iopub.get_msg

    async def late(timeout=None):  # IOPub connects only after the first answer
        if len(iopub.timeouts) == 1:
            iopub.messages.append(STATUS)
        return await real(timeout)
    iopub.get_msg = late
    asyncio.run(client.wait_for_ready(timeout=5))
    assert asked == [1, 1]


def test_a_kernel_shutdown_is_looked_at_often(monkeypatch):
    """A kernel asked to shut down is looked for every ``SHUTDOWN_POLL`` (jupyter_client's
    ``_async_finish_shutdown`` waits through ``_async_wait``, whose default is 0.1 s)."""
    seen = []
    base = kernels._manager_base()

    async def wait(self, pollinterval=0.1):
        seen.append(pollinterval)  # the kernel is gone: no more looks
    monkeypatch.setattr(base, "_async_wait", wait)
    km = kernels.kernel_manager_class()(kernel_name="python3")
    asyncio.run(km._async_finish_shutdown())
    assert seen and set(seen) == {kernels.SHUTDOWN_POLL} and kernels.SHUTDOWN_POLL < 0.1


def test_a_notebook_runs_through_the_perflib_client_with_its_own_outputs_only():
    nb = new_notebook(cells=[new_code_cell("print('一')"), new_code_cell("2 + 3")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    manager = kernels.kernel_manager_class()
    assert manager(kernel_name="python3").client_factory is kernels._client_class()
    NotebookClient(nb, kernel_name="python3", kernel_manager_class=manager).execute()
    assert [o["text"] for o in nb.cells[0].outputs] == ["一\n"]
    assert [o["data"]["text/plain"] for o in nb.cells[1].outputs] == ["5"]
