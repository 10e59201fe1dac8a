#!/usr/bin/env python3
"""Compile time and peak compiler memory of each example program (one translation unit each).

    /usr/bin/python3 benchmarks/compile_times.py [--cxx g++] [--flags "-O2"] [--rounds 3]

Prints a markdown table: the median wall and CPU time of `CXX -std=c++20 FLAGS -fopenmp -c` over
the rounds, and the compiler's peak resident memory. CPU time is the figure to compare across
runs: a concurrent build stretches the wall time but barely the CPU time. docs/performance.md ("Compile times") has the last measurement.
"""
import argparse, glob, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_once(cxx, flags, src, out):
    cmd = [cxx, "-std=c++20", *flags, "-fopenmp", "-I", os.path.join(ROOT, "include"),
           "-I", "/usr/include/eigen3", "-c", src, "-o", out]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)  # this compiler's own peak memory (kB)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"compile failed: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--flags", default="-O2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("sources", nargs="*", help="default: examples/0*.cpp")
    a = ap.parse_args()
    sources = a.sources or sorted(glob.glob(os.path.join(ROOT, "examples", "0*.cpp")))
    flags = a.flags.split()
    print(f"| translation unit ({a.cxx} {a.flags}) | median wall s | median CPU s | peak compiler MB |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            walls, cpus, rss = [], [], 0
            for _ in range(a.rounds):
                w, c, r = compile_once(a.cxx, flags, src, os.path.join(tmp, "tu.o"))
                walls.append(w)
                cpus.append(c)
                rss = max(rss, r)
            print(f"| {os.path.relpath(src, ROOT)} | {statistics.median(walls):.1f} | "
                  f"{statistics.median(cpus):.1f} | {rss / 1024:.0f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
