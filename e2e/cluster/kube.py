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
            if "NotFound" in r.err or "not found" in r.err:
                return []
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


def shown(rows: list[dict[str, str]] | str) -> str:
    """Table rows as a user reads them: 'NAME=x READY=True ...' (a kubectl error as it is)."""
    if isinstance(rows, str):
        return rows
    return "; ".join(" ".join(f"{k}={v}" for k, v in row.items() if k != "AGE") for row in rows) or "no rows"


def wait_for(read: Callable[[], T], done: Callable[[T], bool], timeout: float,
             interval: float = 1.0) -> tuple[bool, T | str]:
    """Reads until `done(value)` or the timeout; returns whether it got there and the last value read
    (or the last kubectl error, which is what a user would have seen)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = read()
            if done(value):
                return True, value
        except KubectlError as e:
            value = str(e)  # type: ignore[assignment]
        if time.monotonic() >= deadline:
            return False, value
        time.sleep(interval)


def mib(quantity: str | None) -> float | None:
    """A Kubernetes memory quantity in MiB (Ki, Mi, Gi, K, M, G, plain bytes); None when unset."""
    if not quantity:
        return None
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1000 / 2**20, "M": 10**6 / 2**20, "G": 10**9 / 2**20}
    for u, f in units.items():
        if quantity.endswith(u):
            return float(quantity[: -len(u)]) * f
    return float(quantity) / 2**20
