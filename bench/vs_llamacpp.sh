#!/bin/sh
# rocmforge vs llama.cpp on the CPU: the same model, threads and test sizes, measured side by
# side (llama-bench, then rf bench, per model), one table with the ratios.
#
#   bench/vs_llamacpp.sh [-t THREADS] [-p 512] [-n 128] [-r 3] MODEL.gguf [MODEL.gguf ...]
#
# Builds llama.cpp's llama-bench (CPU, GGML_NATIVE) from the llama-cpp-python source package in
# $WORK (default /tmp/rf-llamacpp; pip download, nothing committed) unless
# $WORK/llama.cpp/build/bin/llama-bench is already there -- point WORK at a directory holding a
# llama.cpp build (or a `llama.cpp` symlink to one) to reuse it. Needs cmake, g++, pip.
# The machine should be otherwise idle: both tools read the same memory bus.
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/rf-llamacpp}
T=2; P=512; N=128; R=3
while [ $# -gt 0 ]; do
    case "$1" in
    -t) T=$2; shift 2 ;;
    -p) P=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { sed -n 2,12p "$0"; exit 2; }
LB=$WORK/llama.cpp/build/bin/llama-bench
if [ ! -x "$LB" ]; then
    echo "building llama-bench in $WORK (once; ~10 minutes on 2 cores)" >&2
    mkdir -p "$WORK"
    python3 -m pip download -q --no-deps --no-binary :all: -d "$WORK" llama-cpp-python
    tar -C "$WORK" -xzf "$WORK"/llama_cpp_python-*.tar.gz
    rm -rf "$WORK/llama.cpp" && mv "$WORK"/llama_cpp_python-*/vendor/llama.cpp "$WORK/llama.cpp"
    (cd "$WORK/llama.cpp" && cmake -B build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null && cmake --build build -j2 --target llama-bench >/dev/null)
fi
make -s build/rf
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads: $T"
build/rf info --cpu | sed -n 's/^kernels: /rocmforge kernels: /p'
for M in "$@"; do
    echo "== $(basename "$M")" >&2
    "$LB" -m "$M" -t "$T" -p "$P" -n "$N" -r "$R" -o csv 2>/dev/null > "$OUT/ll.csv"
    build/rf bench -m "$M" -t "$T" -p "$P" -n "$N" -r "$R" > "$OUT/rf.txt"
    python3 - "$M" "$P" "$N" "$OUT/ll.csv" "$OUT/rf.txt" <<'PY'
import csv, os, re, sys
model, p, n, llcsv, rftxt = sys.argv[1:]
ll = {}
for row in csv.DictReader(open(llcsv)):
    key = "pp%s" % row["n_prompt"] if int(row["n_gen"]) == 0 else "tg%s" % row["n_gen"]
    ll[key] = float(row["avg_ts"])
rf, bw, pct = {}, None, None
for line in open(rftxt):
    m = re.match(r"(pp|tg)(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\S+)", line)
    if m:
        rf[m.group(1) + m.group(2)] = float(m.group(3))
        if m.group(1) == "tg": pct = m.group(6)
    m = re.search(r"bandwidth.*: ([\d.]+) GB/s", line)
    if m: bw = m.group(1)
print("%-34s %-7s %12s %12s %7s" % ("model", "test", "llama.cpp", "rocmforge", "ratio"))
for k in ("pp" + p, "tg" + n):
    if k in ll and k in rf:
        print("%-34s %-7s %12.2f %12.2f %6.2fx" % (os.path.basename(model)[:34], k, ll[k], rf[k], rf[k] / ll[k]))
print("rocmforge tg: %s of the %s GB/s streaming read it measured" % (pct, bw))
PY
done
