"""Keeps a set of named processes running, as systemd or a container runtime would: a
process that dies (kill -9, a crash) is started again a moment later. For the chaos
suite and the fault benchmark, which kill mailbot processes on purpose.

Each process runs in its own process group (the spawn function's job), so killing one
takes any child along, as a machine or container dying would.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable

Spawn = Callable[[str], "subprocess.Popen[bytes]"]


class Supervisor(threading.Thread):
    def __init__(self, names: Iterable[str], spawn: Spawn, restart_delay: float = 1.0) -> None:
        super().__init__(name="supervisor", daemon=True)
        self.names = tuple(names)
        self.spawn = spawn
        self.restart_delay = restart_delay
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts = 0
        self.stopped = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            for name in self.names:
                with self._lock:
                    process = self.processes.get(name)
                if process is not None and process.poll() is None:
                    continue
                if process is not None:
                    self.restarts += 1
                    if self.stopped.wait(self.restart_delay):
                        return
                with self._lock:
                    if not self.stopped.is_set():
                        self.processes[name] = self.spawn(name)

    def kill(self, name: str) -> bool:
        """kill -9 the process group of `name`; False if it was not running."""
        with self._lock:
            process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return False
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True

    def kill_one_of(self, names: Iterable[str], rng: random.Random) -> str:
        """kill -9 a random running one of `names`; which one it was."""
        running = [name for name in names if self.running(name)]
        victim = rng.choice(running or list(names))
        self.kill(victim)
        return victim

    def running(self, name: str) -> bool:
        with self._lock:
            process = self.processes.get(name)
        return process is not None and process.poll() is None

    def wait_all_running(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(self.running(name) for name in self.names):
            if time.monotonic() > deadline:
                raise TimeoutError(f"not all of {self.names} running within {timeout}s")
            time.sleep(0.1)

    def stop_all(self, grace: float = 10.0) -> None:
        """SIGTERM every process group, as a process manager stops services; SIGKILL late ones."""
        self.stopped.set()
        if self.is_alive():
            self.join(timeout=5)
        with self._lock:
            processes = list(self.processes.values())
        for process in processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + grace
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
