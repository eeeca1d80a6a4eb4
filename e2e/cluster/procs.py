"""The operator and the node agent as processes, restarted on exit the way the kubelet restarts the
container of a Deployment or DaemonSet pod (restartPolicy Always), so a crash shows as a restart count
instead of ending the story."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

# The kubelet's first crash-loop back-off is 10 s; shorter here, the restart itself is what counts.
RESTART_DELAY_S = 2.0
STOP_GRACE_S = 15.0


@dataclass
class Exit:
    rc: int
    after_s: float


@dataclass
class Supervised:
    """One long-running process, restarted when it exits until stop()."""
    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path
    exits: list[Exit] = field(default_factory=list)
    _proc: subprocess.Popen | None = None
    _started: float = 0.0
    _first_start: float = 0.0
    _stopping: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Supervised":
        self._first_start = time.monotonic()
        self._spawn()
        threading.Thread(target=self._watch, name=f"supervise-{self.name}", daemon=True).start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping:
                return
            out = open(self.log, "a")
            out.write(f"==== {time.strftime('%H:%M:%S')} start: {' '.join(self.cmd)}\n")
            out.flush()
            # Own process group: a stop reaches the JVM and nothing else of ours.
            self._proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)
            self._started = time.monotonic()
            out.close()

    def _watch(self) -> None:
        while True:
            proc = self._proc
            rc = proc.wait()
            with self._lock:
                if self._stopping:
                    return
                self.exits.append(Exit(rc, time.monotonic() - self._started))
            with open(self.log, "a") as out:
                out.write(f"==== {time.strftime('%H:%M:%S')} exited {rc}; restarting in {RESTART_DELAY_S:.0f} s\n")
            time.sleep(RESTART_DELAY_S)
            self._spawn()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def restarts(self) -> int:
        return len(self.exits)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def up_s(self) -> float:
        """Seconds since the current process started."""
        return time.monotonic() - self._started

    def rss_mib(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except (OSError, TypeError):
            return None
        return None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM (the kubelet's stop), SIGKILL after the grace period; returns the exit code."""
        with self._lock:
            self._stopping = True
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait()
