"""Kernels for ``perflib run``: private IPC connections, and preloaded kernels forked from a zygote.

Every report gets its own kernel (nothing leaks from one report into the next), but starting a
Python kernel and importing pandas, matplotlib, seaborn/scipy and perflib costs 2–3 s of CPU per
report, more than most reports spend computing. A *zygote* process imports those modules once and
listens on a Unix socket; each kernel start asks it to ``fork()``, and the child becomes a fresh
ipykernel with everything already imported (copy-on-write), in ~0.1 s.

Pieces:

- ``PerflibKernelManager``: jupyter_client's kernel manager with the connection file and IPC
  sockets in a private runtime directory of this process (no TCP ports: no port races between
  parallel workers, no "running over TCP without encryption" warning), an optional zygote, extra
  environment variables and the kernel's stdout/stderr sent to a log file.
- the launcher (``python -m perflib.run.kernels launch SOCKET -f CONNECTION_FILE``), what the kernel
  manager starts: it hands its stdio to the zygote, forwards signals to the forked kernel and exits
  when it exits. Its death (SIGKILL from the manager) makes the kernel exit too. Without a reachable
  zygote it simply becomes an ordinary ``ipykernel_launcher``.
- :class:`Zygote`: starts and stops the zygote server (``python -m perflib.run.kernels zygote``), which
  exits when the process that started it goes away (its stdin closes). Told how many kernels the run
  will ask for, it *retires* once it has forked them: it execs a bare interpreter that stays their
  parent and reaps them, giving back the memory its imports hold (a retry then starts the ordinary way).
"""
from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import json
import os
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Iterable

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# modules every kernel imports at start (ipykernel itself), preloaded whatever the notebooks say
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "IPython",
                  "matplotlib_inline.backend_inline", "jupyter_client.session",
                  # and what IPKernelApp.initialize imports on top (its event loop, history, debugger)
                  "tornado.platform.asyncio", "sqlite3", "IPython.core.debugger", "IPython.core.completerlib",
                  "IPython.extensions.storemagic")
MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to ~107 bytes
RETIRED = ".retired"   # beside a zygote's socket once it has forked every kernel it was told of
SHUTDOWN_POLL = 0.01   # seconds between looks at a kernel asked to shut down, or stopped
IOPUB_SETTLE = 0.01    # seconds of IOPub silence that end a kernel's readiness check

_runtime: str | None = None
_runtime_lock = threading.Lock()


def runtime_dir() -> str:
    """A private directory of this process for connection files and IPC sockets (removed at exit).

    Kept short (``/tmp/plk-XXXX``) because Unix socket paths are limited to ~107 bytes."""
    global _runtime
    with _runtime_lock:
        if _runtime is None or not os.path.isdir(_runtime):
            base = tempfile.gettempdir()
            if len(base) > 40:
                base = "/tmp" if os.path.isdir("/tmp") else base
            _runtime = tempfile.mkdtemp(prefix="plk-", dir=base)
            atexit.register(shutil.rmtree, _runtime, True)
        return _runtime


# --- the kernel manager ---------------------------------------------------------------------------
def _manager_base():
    from jupyter_client import AsyncKernelManager

    return AsyncKernelManager


def kernel_manager_class(*, zygote: str | None = None, env: dict[str, str] | None = None,
                         log_path: str | os.PathLike | None = None):
    """The ``PerflibKernelManager`` class bound to one report's settings (nbclient creates the
    manager itself from a class)."""
    return type("ReportKernelManager", (_manager_class(),), {
        "zygote_address": zygote, "extra_env": dict(env or {}),
        "log_path": str(log_path) if log_path else None})


_manager_cls = None


def _manager_class():
    """The kernel manager class, built on first use (the launcher imports this module and must
    stay cheap: no jupyter_client)."""
    global _manager_cls
    if _manager_cls is not None:
        return _manager_cls

    class PerflibKernelManager(_manager_base()):
        """IPC transport in a private runtime dir; optional zygote; extra env; output to a log."""

        zygote_address: str | None = None
        extra_env: dict = {}
        log_path: str | None = None

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            rt = runtime_dir()
            tag = uuid.uuid4().hex[:12]
            self.connection_file = os.path.join(rt, f"k{tag}.json")
            if len(os.path.join(rt, f"k{tag}-99")) <= MAX_SOCKET_PATH:
                self.transport = "ipc"
                self.ip = os.path.join(rt, f"k{tag}")
            self._log_handle = None
            self.client_factory = _client_class()

        async def _async_pre_start_kernel(self, **kw):
            env = dict(kw.get("env") or os.environ)
            env.update(self.extra_env)
            kw["env"] = env
            if self.log_path and "stdout" not in kw and "stderr" not in kw:
                self._log_handle = open(self.log_path, "ab")  # noqa: SIM115 - closed at cleanup
                kw["stdout"] = self._log_handle
                kw["stderr"] = subprocess.STDOUT
            return await super()._async_pre_start_kernel(**kw)

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if self.zygote_address and _is_our_ipykernel(cmd):
                return [sys.executable, "-m", "perflib.run.kernels", "launch", self.zygote_address, *cmd[3:]]
            return cmd

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # a kernel asked to shut down, or stopped, is gone within milliseconds; jupyter_client
            # looks every 0.1 s (after a shutdown request and after a kill alike: both wait here),
            # which every report would wait for
            await super()._async_wait(pollinterval=min(pollinterval, SHUTDOWN_POLL))

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if self._log_handle is not None and not restart:
                self._log_handle.close()
                self._log_handle = None

    _manager_cls = PerflibKernelManager
    return _manager_cls


_client_cls = None


def _client_class():
    """The kernel client class: jupyter_client's asynchronous one, whose readiness check ends as
    soon as the kernel has answered instead of 0.2 s of IOPub silence later (built on first use)."""
    global _client_cls
    if _client_cls is not None:
        return _client_cls
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class PerflibKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            """jupyter_client's handshake (a kernel_info reply on shell, then a message on IOPub,
            so that IOPub is connected), then the IOPub messages already there are dropped. Its
            own version waits until IOPub has been silent for 0.2 s; a later status message of
            the handshake is harmless, since a notebook client keeps only the messages whose
            parent is the request it sent."""
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    pass
                else:
                    if msg["msg_type"] == "kernel_info_reply":
                        try:
                            await self.iopub_channel.get_msg(timeout=0.2)
                        except Empty:
                            pass  # IOPub not connected yet: ask again
                        else:
                            adapt = getattr(self, "_handle_kernel_info_reply", None)  # protocol version
                            if adapt is not None:
                                adapt(msg)
                            break
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=IOPUB_SETTLE)
                except Empty:
                    break

    _client_cls = PerflibKernelClient
    return _client_cls


def _is_our_ipykernel(cmd: list[str]) -> bool:
    """``<this python> -m ipykernel_launcher ...``: a kernel the zygote can stand in for."""
    if len(cmd) < 3 or cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return False
    try:
        return os.path.samefile(cmd[0], sys.executable)
    except OSError:
        return False


# --- the zygote (parent side) --------------------------------------------------------------------
class Zygote:
    """A process that has imported ``modules`` and forks a kernel for each launcher that asks.

    Start it before the kernels (it binds its socket at once, launchers wait in the backlog while
    it imports), :meth:`close` it after; it also exits by itself when this process dies.
    """

    def __init__(self, modules: Iterable[str] = ()):
        self.modules = sorted(set(modules) | set(KERNEL_MODULES))
        self.address: str | None = None
        self.proc: subprocess.Popen | None = None
        self.key: str | None = None

    def start(self, timeout: float = 10.0) -> "Zygote":
        return self.spawn().wait_bound(timeout)

    def spawn(self) -> "Zygote":
        """Start the process without waiting for it (see :meth:`wait_bound`)."""
        rt = runtime_dir()
        self.address = os.path.join(rt, f"z{uuid.uuid4().hex[:8]}.sock")
        spec = os.path.join(rt, f"z{uuid.uuid4().hex[:8]}.json")
        Path(spec).write_text(json.dumps({"modules": self.modules, "parent": os.getpid()}), "utf-8")
        env = dict(os.environ)
        env.setdefault("MPLBACKEND", INLINE_BACKEND)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "perflib.run.kernels", "zygote", self.address, spec],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            start_new_session=True)
        return self

    def wait_bound(self, timeout: float = 10.0) -> "Zygote":
        """Wait until its socket is bound (launchers may connect from then on)."""
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.address):  # bound before it imports anything heavy
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("zygote did not start")
            time.sleep(0.01)
        return self

    def retire_after(self, kernels: int) -> None:
        """Tell it how many kernels this run will ask for: once it has forked that many it gives its
        memory back (it becomes a small process that only reaps those kernels, see :func:`serve`);
        a kernel asked for later, a retry after one died at start, starts the ordinary way."""
        if self.proc is None or self.proc.stdin is None or kernels < 1:
            return
        try:
            self.proc.stdin.write(f"retire-after {int(kernels)}\n".encode())
            self.proc.stdin.flush()
        except OSError:  # it is gone: its kernels start the ordinary way anyway
            pass

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Stop it at once (a run that turned out to have nothing to render)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        self._unlink()

    def _unlink(self) -> None:
        if self.address:
            Path(self.address).unlink(missing_ok=True)
            Path(self.address + RETIRED).unlink(missing_ok=True)

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()  # the zygote exits on EOF; its kernels run on
            self.proc.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            self.proc = None
            self._unlink()

    def __enter__(self) -> "Zygote":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


_worker_zygote: Zygote | None = None
_worker_lock = threading.Lock()


def shared_zygote(modules: Iterable[str], key: str) -> str | None:
    """This process's zygote for ``key`` (e.g. a hash of the code it preloads), started on first
    use and replaced when the key changes (a long-lived Dask worker after an upgrade). None when
    it cannot start (the kernels then start the ordinary way)."""
    global _worker_zygote
    with _worker_lock:
        z = _worker_zygote
        if z is not None and (z.key != key or not z.alive):
            z.close()
            z = _worker_zygote = None
        if z is None:
            try:
                z = Zygote(modules).start()
            except (OSError, RuntimeError):
                return None
            z.key = key
            _worker_zygote = z
            atexit.register(z.close)
        return z.address


# --- wire format: a 4-byte length, then JSON ------------------------------------------------------
def _send(sock: socket.socket, obj, fds: list[int] | None = None) -> None:
    data = json.dumps(obj).encode()
    frame = struct.pack("!I", len(data)) + data
    if fds:
        socket.send_fds(sock, [frame], fds)
    else:
        sock.sendall(frame)


def _recv_exact(sock: socket.socket, n: int, head: bytes = b"") -> bytes | None:
    buf = head
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv(sock: socket.socket, with_fds: int = 0):
    """One message (and up to ``with_fds`` file descriptors); None at EOF."""
    fds: list[int] = []
    if with_fds:
        head, fds, _, _ = socket.recv_fds(sock, 4, with_fds)
    else:
        head = sock.recv(4)
    if not head:
        return None, fds
    head = _recv_exact(sock, 4, head)
    if head is None:
        return None, fds
    (n,) = struct.unpack("!I", head)
    body = _recv_exact(sock, n)
    return (json.loads(body) if body is not None else None), fds


# --- the zygote (server side) --------------------------------------------------------------------
def _preload(modules: Iterable[str], parent: int) -> None:
    """Import ``modules``, giving up as soon as the process that started us (``parent``, named in the
    spec: by the time we look it may already have died and handed us to init) is gone."""
    for name in modules:
        if os.getppid() != parent:  # the run was killed while we imported: nobody will ask for a kernel
            os._exit(0)
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - "a.b" may be an attribute, or a module may not import here
            continue


def serve(address: str, spec_path: str) -> None:
    """Bind ``address``, import the modules of the spec, then fork a kernel per request until
    stdin closes."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(address)
    srv.listen(128)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    spec = json.loads(Path(spec_path).read_text("utf-8"))
    Path(spec_path).unlink(missing_ok=True)
    # a report's kernel runs headless and nobody attaches a debugger to it: without debugpy (which
    # ipykernel imports when it can, ~60 ms of every zygote's start before the first report's
    # kernel, and a warning about frozen modules) ipykernel says it has none
    sys.modules.setdefault("debugpy", None)
    _preload(spec.get("modules", []), spec["parent"])
    # what the imports made moves to the collector's permanent generation (Python's advice for a
    # process that forks without exec): a kernel's collections no longer walk, and write to, those
    # ~150,000 objects, so fewer of the pages it shares with the zygote are copied
    gc.collect()
    gc.freeze()
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, "accept")
    sel.register(sys.stdin.buffer.raw, selectors.EVENT_READ, "parent")
    forked, budget = 0, None  # kernels forked; how many the run will ask for (None: not told)
    try:
        while True:
            for key, _ in sel.select(timeout=1.0):
                if key.data == "parent":
                    data = os.read(sys.stdin.fileno(), 4096)
                    if not data:
                        return
                    budget = _retire_budget(data, budget)
                else:
                    conn, _ = srv.accept()
                    try:
                        forked += _fork_kernel(conn, (srv, sel))
                    except Exception:  # noqa: BLE001 - one bad request must not stop the server
                        pass
                    finally:
                        conn.close()
            _reap()
            if budget is not None and forked >= budget:
                _retire(address, srv, sel)
    finally:
        srv.close()
        try:
            os.unlink(address)
        except OSError:
            pass


def _retire_budget(data: bytes, budget: int | None) -> int | None:
    """The kernel count a ``retire-after N`` line from the parent gives (the last one wins)."""
    for line in data.decode("ascii", "replace").splitlines():
        word, _, n = line.partition(" ")
        if word == "retire-after" and n.strip().isdigit():
            budget = int(n)
    return budget


# what a retired zygote becomes: its kernels' parent, reaping them, gone when the last one is
_REAPER = """import os
try:
    while True:
        os.waitpid(-1, 0)
except ChildProcessError:
    pass
"""


def _retire(address: str, srv: socket.socket, sel) -> None:
    """Every kernel the run asked for is forked: give back the zygote's memory (~60 MiB of its own
    while a province report runs) by exec'ing a bare interpreter that stays its kernels' parent and
    reaps them (orphaned kernels would go to the machine's init, which in a container may never reap
    them). A launcher asking later sees the marker and starts its kernel the ordinary way at once."""
    Path(address + RETIRED).touch()
    try:
        os.unlink(address)
    except OSError:
        pass
    sel.close()
    srv.close()
    os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", _REAPER])


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _fork_kernel(conn: socket.socket, server_side) -> int:
    """Fork a kernel for the launcher on ``conn``: 1 when one was forked, else 0."""
    conn.settimeout(10)
    req, fds = _recv(conn, with_fds=3)
    if req is None or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return 0
    conn.settimeout(None)
    pid = os.fork()
    if pid == 0:  # the kernel
        code = 1
        try:
            for obj in server_side:
                obj.close()
            _become_kernel(conn, fds, req)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
        finally:
            try:
                _send(conn, {"exit": code})
            except OSError:
                pass
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:  # noqa: BLE001
                pass
            os._exit(code)
    for fd in fds:
        os.close(fd)
    _send(conn, {"pid": pid})
    return 1


def _become_kernel(conn: socket.socket, fds: list[int], req: dict) -> None:
    os.setsid()
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
        os.close(fd)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(req.get("env") or {})
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    os.chdir(req.get("cwd") or "/")
    if "numpy" in sys.modules:  # a fresh seed, as a freshly started kernel would have
        sys.modules["numpy"].random.seed()
    argv = list(req.get("argv") or [])
    spec = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [spec.origin if spec and spec.origin else "ipykernel_launcher", *argv]

    def watch() -> None:  # the launcher is gone (killed by the kernel manager): so is the kernel
        try:
            while conn.recv(64):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="perflib-launcher-watch", daemon=True).start()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.parent_handle = 1  # launched by a manager (no "Ctrl-C will not work" note); the watch thread polls
    app.initialize(argv)
    app.start()


# --- the launcher ---------------------------------------------------------------------------------
FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _fallback(argv: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])


def _manager_pid() -> int:
    """The kernel manager that started this launcher: jupyter_client names it in ``JPY_PARENT_PID``.
    Our parent at start is not enough: a manager killed before this interpreter got going has
    already handed us to init, and we would wait for it in vain (then start a kernel nobody uses)."""
    try:
        return int(os.environ["JPY_PARENT_PID"])
    except (KeyError, ValueError):
        return os.getppid()


def launch(address: str, argv: list[str], wait: float = 30.0) -> int:
    """Ask the zygote at ``address`` for a kernel with ``argv`` and stand in for it until it exits."""
    parent = _manager_pid()  # the manager may die while the zygote is still busy preloading
    if os.getppid() != parent:  # it died before we started: nobody will ask this kernel anything
        return 1
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + wait
    while True:
        try:
            sock.connect(address)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if os.getppid() != parent:  # the run was killed before its zygote listened (and so it
                return 1                # went too): nobody will ask this kernel anything
            if time.monotonic() > deadline or os.path.exists(address + RETIRED):
                _fallback(argv)
            time.sleep(0.05)
        except OSError:
            _fallback(argv)
    try:
        _send(sock, {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}, [0, 1, 2])
        reply, _ = _recv(sock)
    except OSError:
        reply = None
    if reply and "exit" in reply:  # the kernel was over before the zygote told its pid
        return int(reply["exit"])
    if os.getppid() != parent:  # the manager died while we waited: no kernel for nobody
        if reply and "pid" in reply:
            try:
                os.kill(int(reply["pid"]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        return 1
    if not reply or "pid" not in reply:
        sock.close()
        _fallback(argv)
    pid = int(reply["pid"])

    def forward(signum, _frame) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for name in FORWARDED_SIGNALS:
        signal.signal(getattr(signal, name), forward)
    code = 1
    while True:
        try:
            ready, _, _ = select.select([sock], [], [], 1.0)
            if not ready:
                if os.getppid() != parent:  # the kernel manager died without stopping us: so does the kernel
                    forward(signal.SIGKILL, None)
                    return 1
                continue
            msg, _ = _recv(sock)
        except InterruptedError:
            continue
        except OSError:
            break
        if msg is None:
            break
        if "exit" in msg:
            code = int(msg["exit"])
    return code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 3 and args[0] == "zygote":
        serve(args[1], args[2])
        os._exit(0)  # no interpreter teardown of everything preloaded: the parent waits for this
    if len(args) >= 2 and args[0] == "launch":
        return launch(args[1], args[2:])
    print("usage: python -m perflib.run.kernels zygote SOCKET SPEC | launch SOCKET KERNEL-ARGS...",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
