"""Asserted facts, printed as they are checked so a reader sees what the real kernel did."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Report:
    guest: str
    # fact (exact text) -> why it is a known, reported failure; it is shown but not counted.
    known_failures: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    # Print each line as it is added (the cluster e2e runs one story; the qemu e2e prints per guest).
    echo: bool = False
    failed: int = 0
    passed: int = 0
    known: int = 0

    def check(self, ok: bool, fact: str, seen: object = None) -> bool:
        mark = "✓" if ok else "✗"
        shown = "" if seen is None else " ".join(str(seen).split("\n"))
        if len(shown) > 240:
            shown = shown[:240] + "…"
        self._add(f"  {mark} {fact}" + (f"  [seen: {shown}]" if seen is not None else ""))
        if ok:
            self.passed += 1
            if fact in self.known_failures:
                self._add("    · this known failure is fixed: remove it from e2e/lib/guests.py")
        elif fact in self.known_failures:
            self.known += 1
            self._add(f"    · KNOWN FAILURE, not counted: {self.known_failures[fact]}")
        else:
            self.failed += 1
        return ok

    def note(self, text: str) -> None:
        self._add(f"  · {text}")

    def section(self, title: str) -> None:
        self._add(f" {title}")

    def _add(self, line: str) -> None:
        self.lines.append(line)
        if self.echo:
            print(line, flush=True)
