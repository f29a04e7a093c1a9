#!/usr/bin/env python3
"""Fold src/ into rocmforge.h (and kernels/ into rocmforge_hip.h).

    python3 amalgamate.py            write the headers
    python3 amalgamate.py --check    exit 1 if a committed header differs from what would be written
    python3 amalgamate.py --lines -o build/rocmforge.h
                                     emit #line markers so compiler errors point at src/x.c

The order of SOURCES is the architecture, bottom-up. Python 3 standard library only.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))

# Public part: the manual and every declaration. Always visible to the includer.
API = ["src/api.h"]

# Implementation, in dependency order; compiled only under ROCMFORGE_IMPLEMENTATION.
SOURCES = [
    "src/internal.h",  # private declarations shared by the files below
    "src/base.c",      # status strings, error detail, logging, timing
    "src/pool.c",      # a pthread pool that sleeps when idle
    "src/types.c",     # the table of tensor types: names, block sizes, byte sizes
    "src/gguf.c",      # GGUF v2/v3 reader (mmap or read)
    "src/gguf_write.c",  # GGUF v3 writer
    "src/quant.c",     # F16/BF16, legacy 32-blocks, IQ4_NL, MXFP4: (de)quantize, dot
    "src/quant_k.c",   # K-quants (Q2_K..Q6_K, Q8_K) and IQ4_XS: (de)quantize, dot
    "src/cpu.c",       # the CPU kernel table a context computes with (scalar reference first)
    "src/simd_x86.c",  # AVX2 / AVX-512 VNNI kernels (per-function target attributes)
    "src/simd_x86_mm.c",  # AVX-512 VNNI over many rows: multi-row gemv (decode), packed int8 GEMM (prefill)
    "src/simd_x86_gemv_k.c",  # AVX-512 VNNI four-row decode gemv for Q4_K and Q6_K
    "src/simd_x86_attn.c",  # AVX2 attention over an f16 cache: scores, weighted V sums, softmax
    "src/simd_arm.c",  # NEON / dotprod kernels
    "src/simd_arm_k.c",  # NEON / dotprod K-quant and IQ4_XS dot products
    "src/simd.c",      # run-time CPU detection: picks the kernels; the bandwidth probe
    "src/quantize.c",  # choosing tensor types for a model; rf_quantize_model
    "src/synth.c",     # random-weight model writer (rf synth)
    "src/unicode_data.c",  # generated Unicode tables (tools/gen_unicode.py)
    "src/unicode.c",   # UTF-8 decoding and Unicode category / case / NFD lookups
    "src/token_regex.c",   # regex engine and the BPE pre-tokenizer patterns
    "src/token_vocab.c",   # vocab from tokenizer.ggml.*: texts, hash tables, merges, specials
    "src/token_models.c",  # SPM, BPE and WPM algorithms
    "src/token.c",     # rf_tokenize / rf_detokenize: special tokens, buffers
    "src/chat.c",      # chat template detection and rendering
    "src/sample.c",    # sampler chain, seeded RNG, stop strings
    "src/ops.c",       # CPU tensor ops: matvec over quantized rows, RMSNorm, RoPE, softmax, ...
    "src/model.c",     # architectures as data; loading weights and hyperparameters
    "src/kv.c",        # KV-cache pages and the pool contexts take them from
    "src/hip.c",       # under ROCMFORGE_HIP: weights, KV cache and the forward pass on the GPU
    "src/forward.c",   # rf_ctx: KV cache and the forward pass
    "src/sched.c",     # the hybrid scheduler: layers on CPU and GPU, auto-fit, fallbacks, the split pass
    "src/decode_sample.c",  # rf_ctx_decode_sample: decode + sample, on the device when it can
    "src/gen.c",       # the generation loop: prompt -> prefill -> sample/decode -> streamed text
    "src/json.c",      # bounded JSON reader and writer (the server's, usable alone)
]

# The built-in OpenAI-compatible server: compiled only when the includer defines ROCMFORGE_HTTP.
HTTP_SOURCES = [
    "src/http.c",      # HTTP/1.1 transport: sockets, poll loop, request parser, limits, timeouts
    "src/http_api.c",  # OpenAI requests -> jobs, jobs -> JSON / Server-Sent Events
    "src/http_sched.c",  # slots, the step-wise scheduler, cancellation
    "src/http_server.c",  # routing, /metrics, /traces, the loop, rf_server_run
]

LICENSE = "src/LICENSE.txt"

# GPU backend: kernels/ in this order. api.h is the C declarations (what rocmforge.h includes
# under ROCMFORGE_HIP); the rest is the implementation, compiled by hipcc or nvcc.
HIP_SOURCES = [
    "kernels/api.h",        # the extern "C" host API; opens the implementation guard
    "kernels/port.hip",     # hipcc / nvcc portability block, wavefront width from the target
    "kernels/common.hip",   # wave/block reductions, unaligned loads, fp16/bf16 bits
    "kernels/dequant.hip",  # 32 weights of any quant type -> floats
    "kernels/gemv.hip",     # dequantizing GEMV, batched over tokens (decode and prefill)
    "kernels/quant_act.hip",  # activations rounded through q8_0/q8_1/q8_K like the CPU's
    "kernels/rmsnorm.hip",  # RMSNorm
    "kernels/rope.hip",     # RoPE, normal and NeoX
    "kernels/kv.hip",       # KV cache append (f16)
    "kernels/glu.hip",      # SwiGLU / GeGLU
    "kernels/act_q8.hip",   # activations as int8 + scales (fused with the RMSNorm or GLU before them)
    "kernels/attention.hip",  # causal GQA attention with sliding window, online softmax, optionally its output as int8
    "kernels/gemv_q8.hip",  # the int8 GEMV (dp4a) over packed q4_0/q8_0/q4_K/q6_K weights
    "kernels/gemv_glu.hip",  # decode's gate+up GEMV, GLU and q8_0 quantization in one launch
    "kernels/gemv_norm.hip",  # decode's GEMV into the residual, with the next RMSNorm's int8 input
    "kernels/mma.hip",      # matrix cores behind one interface: mma.sync / MFMA / WMMA / SIMT
    "kernels/gemm.hip",     # the prefill GEMM on them: dequantize to f16 tiles in LDS, multiply
    "kernels/flash.hip",    # prefill attention on them (flash attention: online softmax, no score matrix)
    "kernels/add.hip",      # residual / bias / weighted add
    "kernels/embed.hip",    # embedding lookup
    "kernels/softmax.hip",  # softmax and the MoE router's top-k
    "kernels/argmax.hip",   # greedy sampling on the device
    "kernels/sample.hip",   # the sampler chain on the device: top-k select, top-p, min-p, draw
    "kernels/host.hip",     # device, arenas, staged uploads, launchers
    "kernels/end.h",        # closes the implementation guard
]


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        text += "\n"
    return text


def block(rel, lines):
    out = "/* --- %s --- */\n" % rel
    if lines:
        out += '#line 1 "%s"\n' % rel
    out += read(rel)
    out += "/* --- end %s --- */\n" % rel
    return out


def build_core(lines):
    parts = [block(r, lines) for r in API]
    parts.append("\n#if defined(ROCMFORGE_IMPLEMENTATION) && !defined(ROCMFORGE_IMPLEMENTATION_DONE)\n"
                 "#define ROCMFORGE_IMPLEMENTATION_DONE\n\n")
    parts += [block(r, lines) for r in SOURCES]
    parts.append("\n#ifdef ROCMFORGE_HTTP\n")
    parts += [block(r, lines) for r in HTTP_SOURCES]
    parts.append("#endif /* ROCMFORGE_HTTP */\n")
    parts.append("\n#endif /* ROCMFORGE_IMPLEMENTATION */\n\n/*\n" + read(LICENSE) + "*/\n")
    head = ("/* rocmforge.h -- generated by amalgamate.py from src/; edit src/, not this file. */\n")
    return head + "".join(parts)


def build_hip(lines):
    if not HIP_SOURCES:
        return None
    head = "/* rocmforge_hip.h -- generated by amalgamate.py from kernels/; edit kernels/. */\n"
    return head + "".join(block(r, lines) for r in HIP_SOURCES)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if committed headers are stale")
    ap.add_argument("--lines", action="store_true", help="emit #line markers (for development builds)")
    ap.add_argument("-o", "--output", help="write rocmforge.h here instead of the repository root")
    a = ap.parse_args()

    outputs = {"rocmforge.h": build_core(a.lines)}
    hip = build_hip(a.lines)
    if hip is not None:
        outputs["rocmforge_hip.h"] = hip

    if a.check:
        stale = []
        for name, text in outputs.items():
            path = os.path.join(ROOT, name)
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        if stale:
            print("stale: %s (run python3 amalgamate.py)" % ", ".join(stale), file=sys.stderr)
            return 1
        print("headers are fresh")
        return 0

    for name, text in outputs.items():
        path = a.output if (a.output and name == "rocmforge.h") else os.path.join(ROOT, name)
        if a.output and name != "rocmforge.h":
            path = os.path.join(os.path.dirname(a.output), name)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)  # atomic: a concurrent compile never sees half a header
    return 0


if __name__ == "__main__":
    sys.exit(main())
