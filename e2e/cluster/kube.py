"""kubectl as a user runs it (admin kubeconfig of up.sh), and the few ways the e2e reads its answers."""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


class KubectlError(RuntimeError):
    pass


@dataclass(frozen=True)
class Result:
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr as a terminal would show them."""
        return (self.out + self.err).strip()


class Kubectl:
    def __init__(self, kubeconfig: Path, cwd: Path):
        self.kubeconfig = kubeconfig
        self.cwd = cwd

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60, check: bool = False) -> Result:
        cmd = ["kubectl", "--kubeconfig", str(self.kubeconfig), *args]
        try:
            p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, cwd=self.cwd)
        except subprocess.TimeoutExpired:
            raise KubectlError(f"'kubectl {' '.join(args)}' did not answer within {timeout:.0f} s")
        r = Result(p.returncode, p.stdout, p.stderr)
        if check and r.rc != 0:
            raise KubectlError(f"'kubectl {' '.join(args)}' exited {r.rc}: {r.text}")
        return r

    def get(self, *args: str) -> dict | None:
        """`kubectl get ... -o json`; None when the object does not exist."""
        r = self.run("get", *args, "-o", "json")
        if r.rc != 0:
            if "NotFound" in r.err or "not found" in r.err or "the server doesn't have a resource type" in r.err:
                return None
            raise KubectlError(f"'kubectl get {' '.join(args)}' exited {r.rc}: {r.text}")
        return json.loads(r.out)

    def table(self, *args: str) -> list[dict[str, str]]:
        """`kubectl get ...` as printed (printer columns), one dict per row keyed by header."""
        r = self.run("get", *args)
        if r.rc != 0:
            raise KubectlError(f"'kubectl get {' '.join(args)}' exited {r.rc}: {r.text}")
        return parse_table(r.out)


def parse_table(text: str) -> list[dict[str, str]]:
    """kubectl aligns every value under its header (tabwriter), and headers have no spaces."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, starts[1:] + [len(line)])]
        rows.append(dict(zip(names, cells)))
    return rows


def shown(rows: list[dict[str, str]]) -> str:
    """A table row as a user reads it: 'NAME=x READY=True ...'."""
    return "; ".join(" ".join(f"{k}={v}" for k, v in row.items() if k != "AGE") for row in rows) or "no rows"


def wait_for(probe: Callable[[], tuple[bool, T]], timeout: float, interval: float = 1.0) -> tuple[bool, T]:
    """Polls `probe` (returning (done, what was seen)) until done or the timeout; returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, seen = probe()
        except KubectlError as e:
            done, seen = False, str(e)  # type: ignore[assignment]
        if done or time.monotonic() >= deadline:
            return done, seen
        time.sleep(interval)
