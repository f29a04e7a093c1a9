#!/bin/sh
# rocmforge vs llama.cpp on the GPU: the same GGUF files, both fully offloaded, measured side by
# side (llama-bench, then rf bench -ngl all, per model), one table with the ratios.
#
#   bench/gpu_vs_llamacpp.sh [-p 512] [-n 128] [-r 3] [-a sm_90] [-s SRC] MODEL.gguf [MODEL.gguf ...]
#
# llama.cpp: built with CUDA (-DGGML_CUDA=ON) in $WORK (default /tmp/rf-llamacpp-gpu) unless
# $WORK/llama.cpp/build/bin/llama-bench exists. SRC is llama.cpp's source: a directory or a
# .tar.gz of one (e.g. vendor/llama.cpp of the llama-cpp-python sdist, which
# `pip download --no-deps --no-binary :all: llama-cpp-python` fetches on a machine with the
# registry -- the GPU machine has no network, so copy it over). Nothing of it is committed.
# llama-bench runs with flash attention on and off (-fa 0,1); the table takes its faster row.
# -a: the GPU architecture for both builds (sm_90 H100/H200; gfx90a etc. with HIP=1 for rocmforge).
# RF: a rocmforge binary built elsewhere (default: build/gpu/rf, made here with CUDA=1).
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/rf-llamacpp-gpu}
P=512; N=128; R=3; ARCH=sm_90; SRC=""
while [ $# -gt 0 ]; do
    case "$1" in
    -p) P=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    -a) ARCH=$2; shift 2 ;;
    -s) SRC=$2; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { sed -n 2,14p "$0"; exit 2; }
LB=$WORK/llama.cpp/build/bin/llama-bench
if [ ! -x "$LB" ]; then
    [ -n "$SRC" ] || { echo "no llama.cpp build in $WORK and no source (-s DIR|TGZ)" >&2; exit 2; }
    echo "building llama-bench with CUDA for $ARCH in $WORK (once; several minutes)" >&2
    mkdir -p "$WORK/llama.cpp"
    if [ -d "$SRC" ]; then cp -r "$SRC"/. "$WORK/llama.cpp/"; else tar -C "$WORK/llama.cpp" -xzf "$SRC"; fi
    (cd "$WORK/llama.cpp" && cmake -B build -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${ARCH#sm_}" -DGGML_NATIVE=OFF \
        -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF >"$WORK/cmake.log" 2>&1 &&
        cmake --build build -j"$(nproc)" --target llama-bench >>"$WORK/cmake.log" 2>&1) ||
        { tail -20 "$WORK/cmake.log" >&2; exit 1; }
fi
RF=${RF:-}
[ -n "$RF" ] || { make -s CUDA=1 GPU_ARCH="$ARCH" build/gpu/rf; RF=build/gpu/rf; }
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
echo "device: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
for M in "$@"; do
    echo "== $(basename "$M")" >&2
    "$LB" -m "$M" -ngl 99 -fa 0,1 -p "$P" -n "$N" -r "$R" -o csv 2>/dev/null > "$OUT/ll.csv"
    "$RF" bench -m "$M" -ngl all -p "$P" -n "$N" -r "$R" 2>/dev/null > "$OUT/rf.txt"
    python3 - "$M" "$P" "$N" "$OUT/ll.csv" "$OUT/rf.txt" <<'PY'
import csv, os, re, sys
model, p, n, llcsv, rftxt = sys.argv[1:]
ll = {}
for row in csv.DictReader(open(llcsv)):
    key = "pp%s" % row["n_prompt"] if int(row["n_gen"]) == 0 else "tg%s" % row["n_gen"]
    ll[key] = max(ll.get(key, 0.0), float(row["avg_ts"]))  # the faster of -fa 0 and -fa 1
rf, bw, pct, gbs = {}, None, None, None
for line in open(rftxt):
    m = re.match(r"(pp|tg)(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\S+)", line)
    if m:
        rf[m.group(1) + m.group(2)] = float(m.group(3))
        if m.group(1) == "tg": gbs, pct = m.group(5), m.group(6)
    m = re.search(r"bandwidth.*: ([\d.]+) GB/s", line)
    if m: bw = m.group(1)
size = os.path.getsize(model) / 1e9
print("%-28s %-7s %12s %12s %7s" % ("model (%.2f GB)" % size, "test", "llama.cpp", "rocmforge", "ratio"))
for k in ("pp" + p, "tg" + n):
    if k in ll and k in rf:
        print("%-28s %-7s %12.2f %12.2f %6.2fx" % (os.path.basename(model)[:28], k, ll[k], rf[k], rf[k] / ll[k]))
if "tg" + n in ll:
    print("llama.cpp tg: %.0f GB/s = %.1f%% of the %s GB/s the GPU streams" % (ll["tg" + n] * size, 100 * ll["tg" + n] * size / float(bw or 1), bw))
print("rocmforge tg: %s GB/s = %s of it" % (gbs, pct))
PY
done
