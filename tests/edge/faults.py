"""Fault injection for the edge tests: a TCP proxy that can cut a database off, and a
participants WSGI app whose commands are slow at the two moments a crash hurts most."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path


class CuttableProxy:
    """Forwards a loopback port to ``target``; ``cut()`` drops every connection and refuses new
    ones (the database is gone for the service), ``restore()`` lets them through again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = threading.Event()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()  # refused: the connection opens and closes at once
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets, self._open = self._open, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers (children) of ``master``."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master:
            children.append(int(entry.name))
    return children


def slow_app() -> object:
    """The participants app, slowed (``EDGE_SLOW_SECONDS``) right after a command saved its events
    and again after the answer is complete (after the commit, before a byte is sent): a worker
    killed in either window is the crash that used to register people twice."""
    from services.participants.service import Participants
    from shared.config import Settings

    pause = float(os.environ.get("EDGE_SLOW_SECONDS", "0.1"))
    marks = Path(os.environ.get("EDGE_MARK_DIR", "/nonexistent"))
    service = Participants.build(Settings.from_env())
    original_save = service.app.save

    def window(kind: str) -> None:
        """Pause, with a marker file saying which worker is in which window (for the killer)."""
        mark = marks / f"{os.getpid()}.{kind}"
        with contextlib.suppress(OSError):
            mark.touch()
        time.sleep(pause)
        with contextlib.suppress(OSError):
            mark.unlink()

    def slow_save(*objs: object, **kwargs: object) -> object:
        result = original_save(*objs, **kwargs)
        window("saved")
        return result

    service.app.save = slow_save  # type: ignore[method-assign]
    flask_app = service.http()

    def wsgi(environ: dict[str, object], start_response: object) -> object:
        body = list(flask_app(environ, start_response))  # type: ignore[arg-type]
        if environ.get("REQUEST_METHOD") == "POST":
            window("answered")
        return body

    return wsgi


app = slow_app() if os.environ.get("EDGE_SLOW_APP") else None
