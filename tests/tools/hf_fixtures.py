#!/usr/bin/env python3
"""Small random-weight models of every architecture, as Hugging Face transformers models and as
GGUF files, from the same numpy weights.

    hf_fixtures.py write-gguf OUTDIR           GGUF files (F32 and F16) of every architecture;
                                               needs only numpy + gguf (this is what CI runs)
    hf_fixtures.py make-fixture FIXTURE.json   transformers' logits and greedy tokens for the
                                               same weights (needs torch + transformers; run
                                               once on the GPU machine, result committed)

The weights come from numpy's legacy RandomState (its stream is frozen across numpy versions),
so CI rebuilds byte-identical GGUF files without torch. The conversion follows the GGUF naming
convention (llama.cpp's converter): q/k rows permuted for llama-family normal RoPE, Gemma's
RMSNorm weights stored as (1 + w), fused q/k/v and gate/up for phi3, experts stacked for MoE.

The fixture holds, per architecture and weight type, for 3 token sequences: the logits at
several positions (F32) or the last position (F16), and 32 greedy tokens after each sequence.
transformers computes in float32 on the CPU with eager attention; F16 models get weights rounded
to float16 and back, so both sides use the same weights.
"""
import json
import os
import sys

import numpy as np

VOCAB = 300
N_SEQ, SEQ_LEN, N_GREEDY = 3, 20, 32
F32_POSITIONS = [0, 4, 8, 12, 16, 19]

# shape of every model; per-architecture changes below
BASE = dict(dim=64, n_layers=2, n_heads=4, n_kv=2, head_dim=16, ffn=128, ctx=256)
ARCHS = {
    "llama": dict(tied=False),
    "mistral": dict(tied=False, sliding_window=8),          # GGUF arch "llama" + a window
    "qwen2": dict(tied=True, rope_theta=1e6),
    "qwen3": dict(tied=False, rope_theta=1e6, head_dim=32),  # head_dim != dim / heads
    "gemma3": dict(tied=True, n_layers=6, head_dim=32, sliding_window=8, rope_theta=1e6),
    "phi3": dict(tied=False, n_kv=4),
    "mixtral": dict(tied=False, n_experts=4, n_experts_used=2),
    # RoPE scaling as Llama 3.1 (per-frequency factors) and as linear position interpolation;
    # original context 64 puts head_dim 16's wavelengths on both sides of the llama3 band
    "llama3rope": dict(tied=False, rope_theta=10000.0, rope_scaling=dict(
        rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=64)),
    "linearrope": dict(tied=False, rope_scaling=dict(rope_type="linear", factor=2.0)),
    # YaRN (Qwen2.5's long-context setting): ramped interpolation plus the attention factor
    "yarnrope": dict(tied=False, rope_scaling=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=64)),
}
GGUF_ARCH = {"mistral": "llama", "mixtral": "llama", "llama3rope": "llama", "linearrope": "llama", "yarnrope": "llama"}


def shape(arch):
    s = dict(BASE)
    s.update(ARCHS[arch])
    return s


def rng_for(arch, name):
    seed = (sum(ord(c) * (i + 1) for i, c in enumerate(arch + "/" + name)) * 2654435761) % (2**32)
    return np.random.RandomState(seed)


def weights(arch):
    """name -> float32 array, in Hugging Face layout and naming."""
    s = shape(arch)
    d, hd, nh, nkv, ff = s["dim"], s["head_dim"], s["n_heads"], s["n_kv"], s["ffn"]
    w = {}

    def mat(name, rows, cols, std=None):
        std = std if std is not None else 1.0 / np.sqrt(cols)
        w[name] = (rng_for(arch, name).standard_normal((rows, cols)) * std).astype(np.float32)

    def vec(name, n, base=1.0, std=0.1):
        w[name] = (base + rng_for(arch, name).standard_normal(n) * std).astype(np.float32)

    mat("model.embed_tokens.weight", VOCAB, d, std=0.2 if arch == "gemma3" else 0.5)
    vec("model.norm.weight", d, base=0.0 if arch == "gemma3" else 1.0)
    if not s["tied"]:
        mat("lm_head.weight", VOCAB, d)
    for i in range(s["n_layers"]):
        p = "model.layers.%d." % i
        nb = 0.0 if arch == "gemma3" else 1.0  # Gemma stores w in x * (1 + w)
        vec(p + "input_layernorm.weight", d, base=nb)
        vec(p + "post_attention_layernorm.weight", d, base=nb)
        if arch == "phi3":
            mat(p + "self_attn.qkv_proj.weight", nh * hd + 2 * nkv * hd, d)
        else:
            mat(p + "self_attn.q_proj.weight", nh * hd, d)
            mat(p + "self_attn.k_proj.weight", nkv * hd, d)
            mat(p + "self_attn.v_proj.weight", nkv * hd, d)
        if arch == "qwen2":
            for n, rows in (("q", nh * hd), ("k", nkv * hd), ("v", nkv * hd)):
                vec(p + "self_attn.%s_proj.bias" % n, rows, base=0.0)
        if arch in ("qwen3", "gemma3"):
            vec(p + "self_attn.q_norm.weight", hd, base=nb)
            vec(p + "self_attn.k_norm.weight", hd, base=nb)
        mat(p + "self_attn.o_proj.weight", d, nh * hd)
        if arch == "gemma3":
            vec(p + "pre_feedforward_layernorm.weight", d, base=nb)
            vec(p + "post_feedforward_layernorm.weight", d, base=nb)
        if arch == "phi3":
            mat(p + "mlp.gate_up_proj.weight", 2 * ff, d)
            mat(p + "mlp.down_proj.weight", d, ff)
        elif arch == "mixtral":
            mat(p + "block_sparse_moe.gate.weight", s["n_experts"], d, std=1.0)
            for e in range(s["n_experts"]):
                q = p + "block_sparse_moe.experts.%d." % e
                mat(q + "w1.weight", ff, d)
                mat(q + "w2.weight", d, ff)
                mat(q + "w3.weight", ff, d)
        else:
            mat(p + "mlp.gate_proj.weight", ff, d)
            mat(p + "mlp.up_proj.weight", ff, d)
            mat(p + "mlp.down_proj.weight", d, ff)
    return w


def f16_rounded(w):
    """The weights an F16 GGUF holds: 2-D tensors rounded to float16 (norms, biases stay f32)."""
    return {k: (v.astype(np.float16).astype(np.float32) if v.ndim == 2 else v) for k, v in w.items()}


def sequences():
    r = np.random.RandomState(1234)
    return [[int(t) for t in r.randint(3, VOCAB, size=SEQ_LEN)] for _ in range(N_SEQ)]


# -------------------------------------------------------------------------------------------------
# GGUF

def llama3_rope_factors(s):
    """rope_freqs.weight for Llama 3.1 scaling: each frequency's divisor, by the published rule
    (factor for long wavelengths, 1 for short, a smooth blend between)."""
    import math
    r = s["rope_scaling"]
    hd, theta = s["head_dim"], s.get("rope_theta", 10000.0)
    low_wl = r["original_max_position_embeddings"] / r["low_freq_factor"]
    high_wl = r["original_max_position_embeddings"] / r["high_freq_factor"]
    out = []
    for i in range(0, hd, 2):
        freq = 1.0 / theta ** (i / hd)
        wl = 2 * math.pi / freq
        if wl < high_wl:
            out.append(1.0)
        elif wl > low_wl:
            out.append(r["factor"])
        else:
            smooth = (r["original_max_position_embeddings"] / wl - r["low_freq_factor"]) / (r["high_freq_factor"] - r["low_freq_factor"])
            out.append(1.0 / ((1 - smooth) / r["factor"] + smooth))
    return np.array(out, dtype=np.float32)


def permute_rope(w, n_heads):
    """HF llama rotates halves (neox-style); GGUF llama rotates pairs: reorder each head's rows."""
    rows, cols = w.shape
    return w.reshape(n_heads, 2, rows // n_heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def write_gguf(arch, dtype, path):
    import gguf
    s = shape(arch)
    ga = GGUF_ARCH.get(arch, arch)
    w = weights(arch)
    nh, nkv = s["n_heads"], s["n_kv"]
    gw = gguf.GGUFWriter(path, ga)
    gw.add_name("rocmforge test %s %s" % (arch, dtype))
    gw.add_context_length(s["ctx"])
    gw.add_embedding_length(s["dim"])
    gw.add_block_count(s["n_layers"])
    gw.add_feed_forward_length(s["ffn"])
    gw.add_head_count(nh)
    gw.add_head_count_kv(nkv)
    gw.add_key_length(s["head_dim"])
    gw.add_value_length(s["head_dim"])
    gw.add_rope_dimension_count(s["head_dim"])
    gw.add_rope_freq_base(s.get("rope_theta", 10000.0))
    gw.add_layer_norm_rms_eps(1e-6)
    if "sliding_window" in s:
        gw.add_sliding_window(s["sliding_window"])
    if s.get("rope_scaling", {}).get("rope_type") == "linear":
        gw.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        gw.add_rope_scaling_factor(s["rope_scaling"]["factor"])
    if s.get("rope_scaling", {}).get("rope_type") == "yarn":
        gw.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        gw.add_rope_scaling_factor(s["rope_scaling"]["factor"])
        gw.add_rope_scaling_orig_ctx_len(s["rope_scaling"]["original_max_position_embeddings"])
    if arch == "mixtral":
        gw.add_expert_count(s["n_experts"])
        gw.add_expert_used_count(s["n_experts_used"])
    # a minimal SPM vocabulary: 3 specials, 256 byte tokens, letters
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    letters = [chr(ord("a") + i % 26) * (1 + i // 26) for i in range(VOCAB - len(toks))]
    toks += letters
    gw.add_tokenizer_model("llama")
    gw.add_token_list(toks)
    gw.add_token_scores([0.0] * 3 + [0.0] * 256 + [-float(i) for i in range(len(letters))])
    gw.add_token_types([2, 3, 3] + [6] * 256 + [1] * len(letters))
    gw.add_bos_token_id(1)
    gw.add_eos_token_id(2)
    gw.add_unk_token_id(0)

    def put(name, x):
        if x.ndim >= 2 and dtype == "f16":
            x = x.astype(np.float16)
        gw.add_tensor(name, np.ascontiguousarray(x))

    g1 = 1.0 if arch == "gemma3" else 0.0  # (1 + w) folded in
    put("token_embd.weight", w["model.embed_tokens.weight"])
    if s.get("rope_scaling", {}).get("rope_type") == "llama3":
        put("rope_freqs.weight", llama3_rope_factors(s))
    put("output_norm.weight", w["model.norm.weight"] + g1)
    if not s["tied"]:
        put("output.weight", w["lm_head.weight"])
    for i in range(s["n_layers"]):
        p, b = "model.layers.%d." % i, "blk.%d." % i
        put(b + "attn_norm.weight", w[p + "input_layernorm.weight"] + g1)
        if arch == "phi3":
            put(b + "attn_qkv.weight", w[p + "self_attn.qkv_proj.weight"])
        else:
            q, k = w[p + "self_attn.q_proj.weight"], w[p + "self_attn.k_proj.weight"]
            if ga == "llama":
                q, k = permute_rope(q, nh), permute_rope(k, nkv)
            put(b + "attn_q.weight", q)
            put(b + "attn_k.weight", k)
            put(b + "attn_v.weight", w[p + "self_attn.v_proj.weight"])
        if arch == "qwen2":
            for n in "qkv":
                put(b + "attn_%s.bias" % n, w[p + "self_attn.%s_proj.bias" % n])
        if arch in ("qwen3", "gemma3"):
            put(b + "attn_q_norm.weight", w[p + "self_attn.q_norm.weight"] + g1)
            put(b + "attn_k_norm.weight", w[p + "self_attn.k_norm.weight"] + g1)
        put(b + "attn_output.weight", w[p + "self_attn.o_proj.weight"])
        if arch == "gemma3":
            put(b + "post_attention_norm.weight", w[p + "post_attention_layernorm.weight"] + g1)
            put(b + "ffn_norm.weight", w[p + "pre_feedforward_layernorm.weight"] + g1)
            put(b + "post_ffw_norm.weight", w[p + "post_feedforward_layernorm.weight"] + g1)
        else:
            put(b + "ffn_norm.weight", w[p + "post_attention_layernorm.weight"])
        if arch == "phi3":
            put(b + "ffn_up.weight", w[p + "mlp.gate_up_proj.weight"])
            put(b + "ffn_down.weight", w[p + "mlp.down_proj.weight"])
        elif arch == "mixtral":
            ex = p + "block_sparse_moe.experts.%d."
            put(b + "ffn_gate_inp.weight", w[p + "block_sparse_moe.gate.weight"])
            put(b + "ffn_gate_exps.weight", np.stack([w[ex % e + "w1.weight"] for e in range(s["n_experts"])]))
            put(b + "ffn_up_exps.weight", np.stack([w[ex % e + "w3.weight"] for e in range(s["n_experts"])]))
            put(b + "ffn_down_exps.weight", np.stack([w[ex % e + "w2.weight"] for e in range(s["n_experts"])]))
        else:
            put(b + "ffn_gate.weight", w[p + "mlp.gate_proj.weight"])
            put(b + "ffn_up.weight", w[p + "mlp.up_proj.weight"])
            put(b + "ffn_down.weight", w[p + "mlp.down_proj.weight"])
    gw.write_header_to_file()
    gw.write_kv_data_to_file()
    gw.write_tensors_to_file()
    gw.close()


def write_all(outdir):
    os.makedirs(outdir, exist_ok=True)
    paths = {}
    for arch in ARCHS:
        for dtype in ("f32", "f16"):
            path = os.path.join(outdir, "%s-%s.gguf" % (arch, dtype))
            write_gguf(arch, dtype, path)
            paths[(arch, dtype)] = path
    return paths


# -------------------------------------------------------------------------------------------------
# transformers (GPU machine)

def set_rope(cfg, arch, s):
    """transformers 5 keeps RoPE settings in rope_parameters (per layer type for Gemma 3);
    older versions read rope_theta / rope_local_base_freq. Set whichever this version has."""
    theta = s.get("rope_theta", 10000.0)
    scaling = dict(s.get("rope_scaling") or {"rope_type": "default"})
    if hasattr(cfg, "rope_parameters") and cfg.rope_parameters is not None:
        if arch == "gemma3":
            cfg.rope_parameters = {"full_attention": {"rope_type": "default", "rope_theta": theta},
                                   "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}
        else:
            scaling["rope_theta"] = theta
            cfg.rope_parameters = scaling
    else:
        cfg.rope_theta = theta
        if scaling["rope_type"] != "default":
            cfg.rope_scaling = dict(scaling, type=scaling["rope_type"])
        if arch == "gemma3":
            cfg.rope_local_base_freq = 10000.0


def hf_model(arch, w):
    import torch
    import transformers as T
    s = shape(arch)
    common = dict(vocab_size=VOCAB, hidden_size=s["dim"], intermediate_size=s["ffn"],
                  num_hidden_layers=s["n_layers"], num_attention_heads=s["n_heads"],
                  num_key_value_heads=s["n_kv"], max_position_embeddings=s["ctx"], rms_norm_eps=1e-6,
                  tie_word_embeddings=s["tied"], bos_token_id=1, eos_token_id=2, pad_token_id=0)
    if arch in ("llama", "llama3rope", "linearrope", "yarnrope"):
        cfg, cls = T.LlamaConfig(head_dim=s["head_dim"], **common), T.LlamaForCausalLM
    elif arch == "mistral":
        cfg, cls = T.MistralConfig(head_dim=s["head_dim"], sliding_window=s["sliding_window"], **common), T.MistralForCausalLM
    elif arch == "qwen2":
        cfg, cls = T.Qwen2Config(use_sliding_window=False, **common), T.Qwen2ForCausalLM
    elif arch == "qwen3":
        cfg, cls = T.Qwen3Config(head_dim=s["head_dim"], use_sliding_window=False, **common), T.Qwen3ForCausalLM
    elif arch == "gemma3":
        layer_types = ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(s["n_layers"])]
        cfg = T.Gemma3TextConfig(head_dim=s["head_dim"], sliding_window=s["sliding_window"],
                                 query_pre_attn_scalar=s["head_dim"], hidden_activation="gelu_pytorch_tanh",
                                 final_logit_softcapping=None, attn_logit_softcapping=None,
                                 layer_types=layer_types, **common)
        cls = T.Gemma3ForCausalLM
    elif arch == "phi3":
        cfg, cls = T.Phi3Config(sliding_window=None, **common), T.Phi3ForCausalLM
    elif arch == "mixtral":
        cfg, cls = T.MixtralConfig(num_local_experts=s["n_experts"], num_experts_per_tok=s["n_experts_used"],
                                   head_dim=s["head_dim"], sliding_window=None, **common), T.MixtralForCausalLM
    set_rope(cfg, arch, s)
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    model = cls(cfg).eval().float()
    sd = model.state_dict()
    new = {}
    for k, v in w.items():
        new[k] = torch.from_numpy(v.copy())
    # newer transformers store Mixtral experts fused: experts.gate_up_proj [E, 2ff, d], experts.down_proj [E, d, ff]
    if arch == "mixtral" and not any(".w1.weight" in k for k in sd):
        for i in range(s["n_layers"]):
            p = "model.layers.%d.block_sparse_moe." % i
            es = range(s["n_experts"])
            g = torch.stack([new.pop(p + "experts.%d.w1.weight" % e) for e in es])
            u = torch.stack([new.pop(p + "experts.%d.w3.weight" % e) for e in es])
            dn = torch.stack([new.pop(p + "experts.%d.w2.weight" % e) for e in es])
            pre = p if any(k.startswith(p) for k in sd) else "model.layers.%d.mlp." % i
            if pre != p:
                new[pre + "gate.weight"] = new.pop(p + "gate.weight")
            if pre + "experts.gate_up_proj" in sd:
                gu = torch.cat([g, u], dim=1)
                new[pre + "experts.gate_up_proj"] = gu if sd[pre + "experts.gate_up_proj"].shape == gu.shape else gu.transpose(1, 2)
                new[pre + "experts.down_proj"] = dn if sd[pre + "experts.down_proj"].shape == dn.shape else dn.transpose(1, 2)
    missing = set(sd) - set(new)
    extra = set(new) - set(sd)
    if s["tied"]:
        missing.discard("lm_head.weight")
    assert not missing and not extra, (arch, sorted(missing), sorted(extra))
    model.load_state_dict(new, strict=False)
    if s["tied"]:
        model.tie_weights()
    return model


def make_fixture(out):
    import torch
    import transformers
    torch.set_grad_enabled(False)
    fx = {"transformers": transformers.__version__, "torch": torch.__version__, "vocab": VOCAB,
          "sequences": sequences(), "f32_positions": F32_POSITIONS, "n_greedy": N_GREEDY, "models": {}}
    import traceback
    errors = {}
    for arch in ARCHS:
        for dtype in ("f32", "f16"):
            w = weights(arch)
            if dtype == "f16":
                w = f16_rounded(w)
            try:
                model = hf_model(arch, w)
            except Exception:
                errors["%s-%s" % (arch, dtype)] = traceback.format_exc()
                print(errors["%s-%s" % (arch, dtype)], file=sys.stderr)
                continue
            entry = {"logits": [], "greedy": []}
            for seq in fx["sequences"]:
                ids = torch.tensor([seq])
                logits = model(ids).logits[0].float().numpy()
                pos = F32_POSITIONS if dtype == "f32" else [SEQ_LEN - 1]
                entry["logits"].append([[round(float(x), 6) for x in logits[p]] for p in pos])
                gen = model.generate(ids, max_new_tokens=N_GREEDY, do_sample=False,
                                     eos_token_id=None, pad_token_id=0)
                entry["greedy"].append([int(t) for t in gen[0, SEQ_LEN:]])
            fx["models"]["%s-%s" % (arch, dtype)] = entry
            print(arch, dtype, "done", file=sys.stderr)
    with open(out, "w") as f:
        json.dump(fx, f, separators=(",", ":"))
        f.write("\n")
    if errors:
        print("FAILED: %s" % ", ".join(sorted(errors)), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write-gguf", "make-fixture"):
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "write-gguf":
        write_all(sys.argv[2])
    else:
        make_fixture(sys.argv[2])
