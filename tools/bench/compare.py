"""rayx beside the tools users pick instead, on the same workloads in the same run.

    /usr/bin/python3 tools/bench/compare.py [--rayx PATH] [--uds PATH] [--seconds S] [--runs N]
                                            [--rounds R] [--quick] [--json-out FILE]

Runs, one after the other (never at the same time, so they do not compete for the cores):
`rayx microbenchmark --json`; tools/bench/peers.py for multiprocessing.Pool,
concurrent.futures.ProcessPoolExecutor, Dask distributed and a plain numpy copy; the Unix-socket
round trip (tools/bench/uds_roundtrip.c, compiled with cc unless --uds names a binary); and the
start-up script (tools/bench/startup.py). Prints one table (rayx, each peer, rayx's ratio to
each) and then the project's targets, each with the measured ratio and whether it holds.

--rounds R repeats rayx, the multiprocessing, futures and numpy peers and the socket round trip
R times in turn (Dask once: its cluster is slow to start) and reports each figure's median over
the rounds: on a shared machine whose speed drifts over minutes, ratios of interleaved
measurements drift less than those of one pass.

--quick is for the test suite: short runs, no Dask (its cluster alone takes seconds to start),
checks that every part ran and produced numbers. Exit status: 0 when everything ran (whether or
not the targets hold), 1 when a part failed or produced no number.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import startup  # noqa: E402  (tools/bench/startup.py, beside this file)

PYTHON = "/usr/bin/python3"
PEERS = ("multiprocessing", "futures", "dask", "numpy")
PEER_TITLES = {
    "multiprocessing": "mp.Pool",
    "futures": "ProcessPool",
    "dask": "Dask",
    "numpy": "numpy copy",
}
TABLE_METRICS = (
    "single_client_tasks_sync",
    "single_client_tasks_async",
    "single_client_put_calls",
    "single_client_get_calls",
    "single_client_put_gigabytes",
    "single_client_wait_1k_refs",
    "single_client_tasks_and_get_batch",
    "single_client_get_object_containing_10k_refs",
    "1_1_actor_calls_sync",
    "1_1_actor_calls_async",
)


class BenchError(Exception):
    pass


def run_json(argv: list, what: str, env: Optional[dict] = None) -> dict:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800, env=env)
    if proc.returncode != 0:
        raise BenchError(f"{what} failed (status {proc.returncode}):\n{proc.stderr[-3000:]}")
    try:
        return json.loads(proc.stdout)
    except ValueError as e:
        raise BenchError(f"{what} printed no JSON ({e}):\n{proc.stdout[-2000:]}") from e


def run_rayx(rayx: str, seconds: float, runs: int, row_filter: str = "",
             env: Optional[dict] = None) -> tuple[dict, dict]:
    """Returns ({metric: rate}, {metric: skip reason}); row_filter keeps the metrics whose names
    contain it (`--filter`), env is the environment to run in (by default this one's)."""
    argv = [rayx, "microbenchmark", "--json", "--seconds", str(seconds), "--runs", str(runs)]
    doc = run_json(argv + (["--filter", row_filter] if row_filter else []), "rayx microbenchmark",
                   env)
    values, skipped = {}, {}
    for result in doc["results"]:
        if "value" in result:
            values[result["name"]] = float(result["value"])
        else:
            skipped[result["name"]] = result["skipped"]
    return values, skipped


def run_peer(peer: str, seconds: float, runs: int, quick: bool) -> dict:
    argv = [PYTHON, os.path.join(HERE, "peers.py"), peer, "--seconds", str(seconds), "--runs",
            str(runs)] + (["--quick"] if quick else [])
    return {k: float(v) for k, v in run_json(argv, f"peers.py {peer}")["results"].items()}


def run_uds(uds: Optional[str], quick: bool) -> float:
    """Returns the Unix-socket round trips per second (the median of three runs)."""
    tmp = None
    try:
        if uds is None:
            cc = shutil.which("cc") or shutil.which("gcc")
            if cc is None:
                raise BenchError("no C compiler (cc) to build uds_roundtrip.c; pass --uds")
            tmp = tempfile.mkdtemp(prefix="rayx-bench-")
            uds = os.path.join(tmp, "uds_roundtrip")
            subprocess.run([cc, "-O2", "-o", uds, os.path.join(HERE, "uds_roundtrip.c")],
                           check=True)
        rates = []
        for _ in range(3):
            out = subprocess.run([uds, "20000" if quick else "200000"], capture_output=True,
                                 text=True, check=True, timeout=120).stdout
            rates.append(float(out.split("uds_roundtrip_per_s")[1].split()[0]))
        return sorted(rates)[1]
    except (subprocess.CalledProcessError, IndexError, ValueError) as e:
        raise BenchError(f"the Unix-socket round trip failed: {e}") from e
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def median_of(rounds: list) -> dict:
    """{metric: median over the rounds that measured it} for a list of {metric: value}."""
    out = {}
    for metric in {m for r in rounds for m in r}:
        values = sorted(r[metric] for r in rounds if metric in r)
        out[metric] = values[len(values) // 2]
    return out


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def table(rayx: dict, skipped: dict, peers: dict, uds: float, startup_s: float) -> str:
    present = [p for p in PEERS if p in peers]
    head = ["metric (per second)", "rayx"] + [PEER_TITLES[p] for p in present] + [
        f"rayx/{PEER_TITLES[p]}" for p in present]
    rows = []
    for metric in TABLE_METRICS:
        peer_values = [peers[p].get(metric) for p in present]
        if metric in skipped:
            cells = ["skipped"] + [fmt(v) for v in peer_values] + ["-"] * len(present)
        else:
            mine = rayx.get(metric)
            cells = [fmt(mine)] + [fmt(v) for v in peer_values] + [
                (f"{r:.2f}x" if r is not None else "-")
                for r in (ratio(mine, v) for v in peer_values)]
        rows.append([metric] + cells)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in [head] + rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    sync = rayx.get("single_client_tasks_sync")
    lines.append(f"Unix-socket round trip (64 bytes there and back, the floor of a task round "
                 f"trip): {fmt(uds)}/s; rayx single_client_tasks_sync is "
                 + (f"{100 * sync / uds:.1f}%" if sync else "-") + " of it")
    lines.append(f"rayx start-up (init + one task + get, whole process): {startup_s:.3f} s")
    if skipped:
        lines.append("skipped by rayx: " + ", ".join(sorted(skipped)) + " ("
                     + sorted(set(skipped.values()))[0] + ")")
    return "\n".join(lines)


def targets(rayx: dict, skipped: dict, peers: dict, uds: float, startup_s: float) -> list:
    """Returns (target, measured, holds) with holds True, False or None (not measured)."""
    mp = peers.get("multiprocessing", {})
    dask = peers.get("dask", {})
    numpy_peer = peers.get("numpy", {})
    out = []

    def add(text: str, mine: Optional[float], base: Optional[float], need: float,
            unit: str = "x") -> None:
        r = ratio(mine, base)
        if r is None:
            out.append((text, "not measured", None))
        else:
            out.append((text, f"{r:.2f}{unit}", r >= need))

    add("single_client_tasks_sync >= 4x Pool.apply", rayx.get("single_client_tasks_sync"),
        mp.get("single_client_tasks_sync"), 4)
    add("single_client_tasks_sync >= 30% of Unix-socket round trips",
        rayx.get("single_client_tasks_sync"), uds / 100, 30, "%")
    add("single_client_tasks_async >= 2x Pool.apply_async (1000 in flight)",
        rayx.get("single_client_tasks_async"), mp.get("single_client_tasks_async"), 2)
    add("1_1_actor_calls_sync >= 4x Pool.apply", rayx.get("1_1_actor_calls_sync"),
        mp.get("single_client_tasks_sync"), 4)
    add("1_1_actor_calls_async >= 2x Pool.apply_async", rayx.get("1_1_actor_calls_async"),
        mp.get("single_client_tasks_async"), 2)
    add("single_client_put_calls >= 50x Dask scatter", rayx.get("single_client_put_calls"),
        dask.get("single_client_put_calls"), 50)
    add("single_client_get_calls >= 50x Dask Future.result", rayx.get("single_client_get_calls"),
        dask.get("single_client_get_calls"), 50)
    add("single_client_put_gigabytes >= 0.5x numpy copy into a fresh buffer",
        rayx.get("single_client_put_gigabytes"), numpy_peer.get("single_client_put_gigabytes"),
        0.5)
    waits = rayx.get("single_client_wait_1k_refs")
    out.append(("single_client_wait_1k_refs >= 1,000 wait calls/s (1 workload/s)",
                "not measured" if waits is None else f"{waits * 1000:,.0f} calls/s",
                None if waits is None else waits >= 1.0))
    out.append(("start-up (init + one task + get) < 0.5 s", f"{startup_s:.3f} s",
                startup_s < 0.5))
    for i, (text, measured, holds) in enumerate(out):
        if holds is None and any(name in skipped for name in text.split()):
            out[i] = (text, skipped[text.split()[0]], None)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rayx", default=startup.default_rayx(), help="the rayx binary")
    parser.add_argument("--uds", help="a built uds_roundtrip binary (default: cc builds one)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each timed run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per metric (median)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleaved rounds of rayx, the fast peers and the socket floor")
    parser.add_argument("--quick", action="store_true", help="a short run for the test suite")
    parser.add_argument("--json-out", help="also write every figure to this file as JSON")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs = min(args.seconds, 0.1), 1
    try:
        rayx_rounds, peer_rounds, uds_rounds = [], {}, []
        skipped = {}
        for round_index in range(max(1, args.rounds)):
            values, skipped = run_rayx(args.rayx, args.seconds, args.runs)
            rayx_rounds.append(values)
            for peer in PEERS:
                if peer == "dask" and (args.quick or round_index > 0):
                    continue
                peer_rounds.setdefault(peer, []).append(
                    run_peer(peer, args.seconds, args.runs, args.quick))
            uds_rounds.append(run_uds(args.uds, args.quick))
        rayx = median_of(rayx_rounds)
        peers = {peer: median_of(rounds) for peer, rounds in peer_rounds.items()}
        uds = sorted(uds_rounds)[len(uds_rounds) // 2]
        startup_s = sorted(startup.measure(args.rayx, 3 if args.quick else 5))[1 if args.quick else 2]
    except (BenchError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 1
    rounds = "" if args.rounds <= 1 else f", then the median over {args.rounds} interleaved rounds"
    print(f"{os.cpu_count()} CPUs; each figure the median of {args.runs} timed run(s) of "
          f"{args.seconds} s after a warm-up{rounds}\n")
    print(table(rayx, skipped, peers, uds, startup_s))
    print("\ntargets:")
    checks = targets(rayx, skipped, peers, uds, startup_s)
    for text, measured, holds in checks:
        verdict = {True: "holds", False: "MISSES", None: "-"}[holds]
        print(f"  {verdict:6}  {text}: {measured}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"rayx": rayx, "skipped": skipped, "peers": peers, "uds_per_s": uds,
                       "startup_s": startup_s,
                       "targets": [{"target": t, "measured": m, "holds": h}
                                   for t, m, h in checks]}, f, indent=1)
    missing = [m for m in TABLE_METRICS if m not in rayx and m not in skipped]
    empty = [p for p, values in peers.items() if not values]
    if missing or empty:
        print(f"compare: no figure for {missing + empty}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
