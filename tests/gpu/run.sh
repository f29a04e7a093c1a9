#!/bin/sh
# make CUDA=1 test-gpu / make HIP=1 test-gpu: the op tests, then whole models GPU vs CPU on
# rf synth models (llama, qwen2, gemma3 x q4_0, q4_k_m, f16) and, when the gguf package is
# importable, the transformers fixtures' GGUFs. Ends with "N passed, N failed, N skipped".
# RF_SANITIZE=1 runs everything under compute-sanitizer memcheck.
BUILD=${RF_BUILD:-build}
GB=${RF_GPU_BUILD:-$BUILD/gpu}
DIR=${RF_GPU_MODELS:-$BUILD/gpu/models}
SAN=""
[ "${RF_SANITIZE:-0}" = 1 ] && SAN="compute-sanitizer --tool memcheck --leak-check full --report-api-errors no --error-exitcode 9"
mkdir -p "$DIR"
out=$(mktemp); trap 'rm -f "$out"' EXIT
pass=0; fail=0; skip=0
run_one() {
    echo "== $*"
    $SAN "$@" >"$out" 2>&1; rc=$?
    cat "$out"
    p=$(grep -c '^ok ' "$out"); f=$(grep -c '^FAIL ' "$out"); s=$(grep -c '^skip ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then echo "FAIL $1: exited with status $rc"; f=1; fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}
run_one "$GB/test_gpu_ops"
models=""
for arch in llama qwen2 gemma3; do
    for type in q4_0 q4_k_m f16; do
        f="$DIR/$arch-$type.gguf"
        [ -f "$f" ] || "$BUILD/rf" synth --arch $arch --type $type --dim 256 --layers 4 --heads 8 --kv-heads 2 \
            --ffn 512 --vocab 1000 --ctx 1024 "$f" >/dev/null || { echo "FAIL synth $arch $type"; fail=$((fail + 1)); }
        models="$models $f"
    done
done
# head size 64: the prefill takes the matrix-core attention (kernels/flash.hip; quantized models,
# 32 tokens or more), gemma3 with its sliding window
for spec in "llama q4_0" "gemma3 q4_k_m"; do
    set -- $spec
    f="$DIR/$1-hd64-$2.gguf"
    [ -f "$f" ] || "$BUILD/rf" synth --arch $1 --type $2 --dim 512 --layers 4 --heads 8 --kv-heads 2 \
        --ffn 512 --vocab 1000 --ctx 1024 "$f" >/dev/null || { echo "FAIL synth $1 hd64 $2"; fail=$((fail + 1)); }
    models="$models $f"
done
if ${PYTHON:-python3} -c "import gguf" 2>/dev/null; then
    ${PYTHON:-python3} tests/tools/hf_fixtures.py write-gguf "$DIR/hf" >/dev/null && models="$models $(ls "$DIR"/hf/*.gguf)"
else
    echo "skip hf_fixtures: the gguf package is not importable"; skip=$((skip + 1))
fi
run_one "$GB/test_gpu_model" $models
# the hybrid scheduler: splits of dense and MoE models, auto-fit and fallbacks on a bigger one,
# load/unload cycles (tests/gpu/test_gpu_split.c)
for type in q4_0 f16; do
    f="$DIR/moe-$type.gguf"
    [ -f "$f" ] || "$BUILD/rf" synth --arch llama --type $type --dim 256 --layers 4 --heads 8 --kv-heads 2 --ffn 512 \
        --vocab 1000 --ctx 1024 --experts 4 --experts-used 2 "$f" >/dev/null || { echo "FAIL synth moe $type"; fail=$((fail + 1)); }
done
big="$DIR/big-f16.gguf"
[ -f "$big" ] || "$BUILD/rf" synth --arch llama --type f16 --dim 1024 --layers 8 --heads 8 --kv-heads 2 --ffn 2816 \
    --vocab 1000 --ctx 1024 "$big" >/dev/null || { echo "FAIL synth big"; fail=$((fail + 1)); }
run_one "$GB/test_gpu_split" "$DIR/llama-q4_0.gguf" "$DIR/qwen2-q4_k_m.gguf" "$DIR/gemma3-f16.gguf" \
    --moe "$DIR/moe-q4_0.gguf" "$DIR/moe-f16.gguf" --big "$big" --cycles "$DIR/llama-q4_0.gguf"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
