#!/usr/bin/env python3
"""What an atomic rewrite of many files costs on this disk, two ways (issue 12's write phase).

Usage: write_probe.py DIR [RUNS]   DIR is a size's directory that `cargo bench --bench propose -- --keep`
left (it holds repo/ and edits.json); the probe rewrites the existing files the plan edits.

current  what `propose --write` did until commit 337331e, on one thread: a new temporary beside
         each file, exchanged with it (renameat2 RENAME_EXCHANGE), every old file unlinked at the end.
recycle  what it does since (src/propose/place.rs), reduced to the disk's work: one spare file; for
         each target, its new text is written in place into the spare, the spare is moved beside the
         target and exchanged with it, and the target's old inode becomes the spare for the next
         file. Only one file is created and one unlinked per run. (attune also checks each old file
         against the text it read, keeps that text for a rollback, exchanges across directories
         instead of moving the spare, and never reuses an inode with more than one link.)

Each run works on a fresh copy written out with `sync` before the clock starts; the two ways
alternate. Prints the median (min-max) wall time and the median system time of the runs."""
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

LIBC = ctypes.CDLL(None, use_errno=True)
SYS_RENAMEAT2, AT_FDCWD, RENAME_EXCHANGE = 316, -100, 2  # x86_64


def exchange(a, b):
    if LIBC.syscall(SYS_RENAMEAT2, AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE):
        raise OSError(ctypes.get_errno(), f"renameat2 {a} {b}")


def new_text(path):
    with open(path, "rb") as f:
        return f.read() + b"# edited\n"


def beside(path):
    return os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".probe")


def current(_root, paths):
    backups = []
    for p in paths:
        data = new_text(p)
        tmp = beside(p)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)
        exchange(tmp, p)
        backups.append(tmp)
    for b in backups:
        os.unlink(b)


def recycle(root, paths):
    spare = os.path.join(root, ".spare.probe")
    os.close(os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for p in paths:
        data = new_text(p)
        fd = os.open(spare, os.O_WRONLY)
        os.write(fd, data)
        os.ftruncate(fd, len(data))
        os.close(fd)
        tmp = beside(p)
        os.rename(spare, tmp)
        exchange(tmp, p)
        spare = tmp
    os.unlink(spare)


def main():
    kept, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with open(os.path.join(kept, "edits.json")) as f:
        plan = json.load(f)["files"]
    src = os.path.join(kept, "repo")
    rels = [e["path"] for e in plan if os.path.isfile(os.path.join(src, e["path"]))]
    dst = os.path.join(kept, "write-probe")
    ways = {"current": current, "recycle": recycle}
    results = {name: [] for name in ways}
    for _ in range(runs):
        for name, way in ways.items():
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)
            subprocess.run(["sync"], check=True)
            paths = [os.path.join(dst, r) for r in rels]
            t0, c0 = time.monotonic(), os.times()
            way(dst, paths)
            c1 = os.times()
            results[name].append(((time.monotonic() - t0) * 1000, (c1.system - c0.system) * 1000))
    shutil.rmtree(dst, ignore_errors=True)
    for name, rs in results.items():
        wall = sorted(r[0] for r in rs)
        system = statistics.median(r[1] for r in rs)
        print(f"{name}: {len(rels)} files, wall median {statistics.median(wall):.0f} ms "
              f"({wall[0]:.0f}-{wall[-1]:.0f}), system {system:.0f} ms, {runs} runs")


if __name__ == "__main__":
    main()
