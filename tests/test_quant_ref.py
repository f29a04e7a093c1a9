"""Our scalar quant kernels against gguf-py's numpy ones (the `gguf` package, gguf/quants.py),
which describe every block layout and the dequantization arithmetic.

- dequant_matches_gguf_TYPE: random blocks (random bytes, with every fp16 / E8M0 scale field
  replaced by a finite, moderate value so no inf/NaN arises) -> build/tools/quant_tool dequant
  vs gguf.quants.dequantize: bit-exact (compared as uint32). Both compute in float32 in the
  same order, so no tolerance is needed for any type.
- quant_layout_gguf_TYPE: random normal floats -> our quantizer -> gguf-py's dequantizer and
  ours agree bit-exactly, so our quantizers write the layout gguf-py reads.
- fp16 / bf16 conversion vs numpy astype(np.float16) and gguf-py's BF16 on random and edge
  floats, and every fp16 bit pattern back to float32.

Q8_1 and Q8_K have no dequantizer in gguf-py (activation formats), so only test_quant.c covers
them.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

TOOL = os.path.join(rftest.BUILD, "tools", "quant_tool")

# type name -> (block elements, block bytes, byte offsets of fp16 scale fields, E8M0 offset)
# Offsets from the block layouts in gguf/quants.py (and src/quant.c, src/quant_k.c).
TYPES = {
    "q4_0": (32, 18, [0], None),
    "q4_1": (32, 20, [0, 2], None),
    "q5_0": (32, 22, [0], None),
    "q5_1": (32, 24, [0, 2], None),
    "q8_0": (32, 34, [0], None),
    "q2_K": (256, 84, [80, 82], None),
    "q3_K": (256, 110, [108], None),
    "q4_K": (256, 144, [0, 2], None),
    "q5_K": (256, 176, [0, 2], None),
    "q6_K": (256, 210, [208], None),
    "iq4_nl": (32, 18, [0], None),
    "iq4_xs": (256, 136, [0], None),
    "mxfp4": (32, 17, [], 0),
}
N_BLOCKS = 3000


def tool(tmp, mode, tname, data):
    src, dst = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
    data.tofile(src)
    r = subprocess.run([TOOL, mode, tname, src, dst], capture_output=True, text=True)
    assert r.returncode == 0, "quant_tool %s %s failed: %s" % (mode, tname, r.stderr)
    import numpy as np
    return np.fromfile(dst, dtype=np.float32 if mode == "dequant" else np.uint8)


def moderate_f16(rng, n):
    """Finite fp16 values of random sign and magnitude in [2^-12, 2^4)."""
    import numpy as np
    mag = np.exp2(rng.uniform(-12, 4, n))
    return (mag * rng.choice([-1.0, 1.0], n)).astype(np.float16)


def assert_bits_equal(ours, ref, what):
    import numpy as np
    ref = np.ascontiguousarray(ref, dtype=np.float32).ravel()
    assert ours.shape == ref.shape, "%s: %s vs %s elements" % (what, ours.shape, ref.shape)
    bad = np.nonzero(ours.view(np.uint32) != ref.view(np.uint32))[0]
    assert len(bad) == 0, "%s: %d of %d differ, first at %d: ours %r, gguf-py %r" % (
        what, len(bad), len(ref), bad[0], ours[bad[0]], ref[bad[0]])


def qtype(tname):
    import gguf
    return getattr(gguf.GGMLQuantizationType, tname.upper())


def make_dequant_test(tname):
    def fn():
        rftest.need_gguf()
        import numpy as np
        from gguf import quants
        bs, ts, f16_offsets, e8m0 = TYPES[tname]
        rng = np.random.default_rng(1234 + ts)
        blocks = rng.integers(0, 256, size=(N_BLOCKS, ts), dtype=np.uint8)
        for off in f16_offsets:
            blocks[:, off:off + 2] = moderate_f16(rng, N_BLOCKS).view(np.uint8).reshape(N_BLOCKS, 2)
        if e8m0 is not None:  # 2^(e-127) * 6 stays far from float32 overflow and underflow
            blocks[:, e8m0] = rng.integers(90, 165, size=N_BLOCKS, dtype=np.uint8)
        with tempfile.TemporaryDirectory() as tmp:
            ours = tool(tmp, "dequant", tname, blocks)
        ref = quants.dequantize(blocks, qtype(tname))
        assert_bits_equal(ours, ref, tname)
    fn.__name__ = "dequant_matches_gguf_" + tname
    return fn


def make_layout_test(tname):
    def fn():
        rftest.need_gguf()
        import numpy as np
        from gguf import quants
        bs, ts, _, _ = TYPES[tname]
        rng = np.random.default_rng(99 + ts)
        x = rng.standard_normal(bs * 64).astype(np.float32)
        x[: bs] = 0.0                # an all-zero block
        x[bs: 2 * bs] *= 1000.0      # large and small scales
        x[2 * bs: 3 * bs] *= 1e-3
        with tempfile.TemporaryDirectory() as tmp:
            q = tool(tmp, "quant", tname, x)
            assert q.size == x.size // bs * ts, "%s: %d bytes" % (tname, q.size)
            ours = tool(tmp, "dequant", tname, q)
        ref = quants.dequantize(q.reshape(-1, ts), qtype(tname))
        assert_bits_equal(ours, ref, tname)
        # and the round trip is a plausible approximation (test_quant.c holds the real bounds)
        rel = np.sqrt(np.mean((ours - x) ** 2)) / np.sqrt(np.mean(x ** 2))
        assert rel < 0.5, "%s: relative RMS error %g" % (tname, rel)
    fn.__name__ = "quant_layout_gguf_" + tname
    return fn


def edge_floats():
    """Random floats of every magnitude plus the fp16 edge cases (ties, subnormals, overflow)."""
    import numpy as np
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2 ** 32, size=200000, dtype=np.uint64).astype(np.uint32)
    rand_any = bits.view(np.float32)
    # floats near the fp16 range: exponents from 2^-26 to 2^17
    near = (np.exp2(rng.uniform(-26, 17, 200000)) * rng.choice([-1.0, 1.0], 200000)).astype(np.float32)
    # exact ties: every fp16 value and the midpoints between neighbours
    h = np.arange(0, 0x7c00, dtype=np.uint16).view(np.float16).astype(np.float32)
    mids = ((h[:-1].astype(np.float64) + h[1:]) / 2).astype(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65504.0, 65519.996, 65520.0, 65536.0,
                        2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0000001, 2.0 ** -14, 3e38, -3e38,
                        1e-45], dtype=np.float32)
    return np.concatenate([rand_any, near, h, -h, mids, -mids, special]).astype(np.float32)


def test_fp32_to_fp16_matches_numpy():
    rftest.need_gguf()
    import numpy as np
    x = edge_floats()
    with tempfile.TemporaryDirectory() as tmp:
        ours = tool(tmp, "quant", "f16", x).view(np.uint16)
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    # NaN payloads are not specified by numpy: only require a NaN of the same sign
    assert np.all((ours[nan] & 0x7c00) == 0x7c00) and np.all((ours[nan] & 0x3ff) != 0)
    assert np.array_equal(ours[nan] & 0x8000, ref[nan] & 0x8000)
    bad = np.nonzero(ours[~nan] != ref[~nan])[0]
    assert len(bad) == 0, "%d differ, first %r -> ours %#06x numpy %#06x" % (
        len(bad), x[~nan][bad[0]], ours[~nan][bad[0]], ref[~nan][bad[0]])


def test_fp16_to_fp32_all_patterns():
    rftest.need_gguf()
    import numpy as np
    h = np.arange(0, 65536, dtype=np.uint32).astype(np.uint16)
    with tempfile.TemporaryDirectory() as tmp:
        ours = tool(tmp, "dequant", "f16", h.view(np.uint8))
    ref = h.view(np.float16).astype(np.float32)
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(ours), nan)
    assert_bits_equal(ours[~nan], ref[~nan], "f16 -> f32")


def test_bf16_matches_gguf():
    rftest.need_gguf()
    import numpy as np
    from gguf import quants
    x = edge_floats()
    with tempfile.TemporaryDirectory() as tmp:
        ours = tool(tmp, "quant", "bf16", x)
        back = tool(tmp, "dequant", "bf16", ours)
    ref = quants.quantize(x, qtype("bf16"))
    assert np.array_equal(ours, ref.view(np.uint8).ravel()), "bf16 bytes differ from gguf-py"
    assert_bits_equal(back, quants.dequantize(ref, qtype("bf16")), "bf16 -> f32")


def main():
    if not os.path.exists(TOOL):
        print("skip test_quant_ref: %s not built (make)" % TOOL)
        return 0
    for t in TYPES:
        rftest.run(make_dequant_test(t))
    for t in TYPES:
        rftest.run(make_layout_test(t))
    rftest.run(test_fp32_to_fp16_matches_numpy)
    rftest.run(test_fp16_to_fp32_all_patterns)
    rftest.run(test_bf16_matches_gguf)
    return rftest.exit_code()


if __name__ == "__main__":
    sys.exit(main())
