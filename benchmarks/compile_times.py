#!/usr/bin/env python3
"""Compile time and peak compiler memory of each example program (one translation unit each).

    /usr/bin/python3 benchmarks/compile_times.py [--cxx g++] [--flags "-O2"] [--rounds 3]

Prints a markdown table: for each example, the median CPU time of `CXX -std=c++20 FLAGS -fopenmp
-c` over the rounds header-only and with the compiled instances (-DDLOGP_COMPILED_INSTANCES, as
the project builds its examples: dlogp/instances.hpp), the compiler's peak resident memory, and
the time of the instances' own translation unit (src/instances.cpp, compiled once per build).
CPU time is the figure to compare across runs: a concurrent build stretches the wall time but
barely the CPU time. docs/performance.md ("Compile times") has the last measurement.
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

    def median_cpu(src, extra, tmp):
        cpus, rss = [], 0
        for _ in range(a.rounds):
            _, c, r = compile_once(a.cxx, flags + extra, src, os.path.join(tmp, "tu.o"))
            cpus.append(c)
            rss = max(rss, r)
        return statistics.median(cpus), rss

    print(f"| translation unit ({a.cxx} {a.flags}, median of {a.rounds}) | header-only CPU s | "
          f"with dlogp::instances CPU s | peak compiler MB (header-only / instances) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            alone, rss_alone = median_cpu(src, [], tmp)
            inst, rss_inst = median_cpu(src, ["-DDLOGP_COMPILED_INSTANCES"], tmp)
            print(f"| {os.path.relpath(src, ROOT)} | {alone:.1f} | {inst:.1f} | "
                  f"{rss_alone / 1024:.0f} / {rss_inst / 1024:.0f} |")
            sys.stdout.flush()
        once = os.path.join(ROOT, "src", "instances.cpp")
        cpu, rss = median_cpu(once, [], tmp)
        print(f"| src/instances.cpp (the instances, once per build) | | {cpu:.1f} | {rss / 1024:.0f} |")


if __name__ == "__main__":
    main()
