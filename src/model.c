/* Architectures as data, and loading a model: hyperparameters from "{arch}.*" keys, weights as
   views into the mapped GGUF file (never copied; 1-D norms and biases become small f32 arrays).
   Key and tensor names are the GGUF naming convention llama.cpp's converter writes. */

enum {
    RF__ARCH_QKV_BIAS = 1 << 0,      /* attn_q/k/v.bias (qwen2) */
    RF__ARCH_QK_NORM = 1 << 1,       /* RMSNorm over each q and k head (qwen3, gemma3) */
    RF__ARCH_NEOX = 1 << 2,          /* NeoX RoPE: rotate (i, i + n_rot/2), not (2i, 2i+1) */
    RF__ARCH_GELU = 1 << 3,          /* GeGLU feed-forward (tanh GELU) instead of SwiGLU */
    RF__ARCH_POST_NORMS = 1 << 4,    /* RMSNorm on the attention and FFN outputs (gemma) */
    RF__ARCH_EMBED_SCALE = 1 << 5,   /* embeddings times sqrt(n_embd) (gemma) */
    RF__ARCH_SWA_PATTERN6 = 1 << 6,  /* 5 sliding-window layers, then 1 global (gemma3) */
    RF__ARCH_FUSED_QKV = 1 << 7,     /* one attn_qkv matrix (phi3) */
    RF__ARCH_FUSED_GATE_UP = 1 << 8  /* ffn_up holds gate and up stacked (phi3) */
};

typedef struct rf__arch {
    const char *name;
    unsigned flags;
} rf__arch;

/* Mistral and Mixtral GGUFs use "llama" (MoE is recognised by its ffn_gate_inp tensor). */
static const rf__arch rf__archs[] = {
    {"llama", 0},
    {"qwen2", RF__ARCH_QKV_BIAS | RF__ARCH_NEOX},
    {"qwen3", RF__ARCH_QK_NORM | RF__ARCH_NEOX},
    {"gemma3", RF__ARCH_QK_NORM | RF__ARCH_NEOX | RF__ARCH_GELU | RF__ARCH_POST_NORMS | RF__ARCH_EMBED_SCALE |
                   RF__ARCH_SWA_PATTERN6},
    {"phi3", RF__ARCH_NEOX | RF__ARCH_FUSED_QKV | RF__ARCH_FUSED_GATE_UP},
};

typedef struct rf__layer {
    float *attn_norm, *ffn_norm, *post_attn_norm, *post_ffn_norm; /* [n_embd] */
    float *q_norm, *k_norm;                                       /* [head_dim] */
    float *bq, *bk, *bv;                                          /* [n_head*hd], [n_kv*hd] */
    rf__mat wq, wk, wv, wqkv, wo, w_gate, w_up, w_down;
    /* mixture of experts: the router (n_expert rows) and each expert's matrices stacked
       along a third dimension -- expert e is rows [e*ne1, (e+1)*ne1) */
    rf__mat moe_router, moe_gate, moe_up, moe_down;
    int sliding;       /* attends to the last sliding_window positions only */
    float rope_base;   /* gemma3's local layers use another base */
    float rope_scale;  /* frequency scale (1 / linear factor) */
} rf__layer;

struct rf_model {
    rf_gguf *g;
    rf_tokenizer *tok;
    const rf__arch *arch;
    rf_logger log;
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx_train, n_rot;
    int64_t sliding_window;
    int64_t n_expert, n_expert_used; /* 0 for dense models */
    float rms_eps, embed_scale, attn_scale;
    rf__mat tok_embd, output;
    float *out_norm;
    float *rope_freqs; /* per-frequency divisors: llama3's rope_freqs.weight, or YaRN's; or NULL */
    float rope_mscale; /* YaRN's attention factor on the rotation (1 otherwise) */
    int yarn;
    rf__layer *layers;
    uint64_t max_act_bytes; /* largest quantized activation any matvec needs */
    int64_t max_rows;       /* longest output of any matvec */
    int64_t max_cols;       /* longest input of any matvec (the GEMM's panels are sized by it) */
    struct rf__hip_model *gpu; /* the weights on the GPU (hip.c), or NULL */
    rf_gpu_plan plan;          /* where sched.c put the layers */
};

/* ---------------------------------------------------------------------------------------------
   Hyperparameters */

static rf_status rf__hp_i64(const rf_model *m, const char *suffix, int64_t def, int64_t min, int64_t max, int64_t *out) {
    char key[128];
    rf_status s;
    snprintf(key, sizeof key, "%s.%s", m->arch->name, suffix);
    s = rf_gguf_get_i64(m->g, key, out);
    if (s == RF_ERR_NOT_FOUND && def >= 0) {
        *out = def;
        return RF_OK;
    }
    if (s == RF_ERR_NOT_FOUND) return rf__err(s, "model: required key '%s' is missing", key);
    if (s != RF_OK) return rf__err(s, "model: key '%s': %s", key, rf_last_error());
    if (*out < min || *out > max)
        return rf__err(RF_ERR_TOO_LARGE, "model: key '%s' = %lld is outside [%lld, %lld]", key, (long long)*out,
                       (long long)min, (long long)max);
    return RF_OK;
}

static float rf__hp_f32(const rf_model *m, const char *suffix, float def) {
    char key[128];
    float v;
    snprintf(key, sizeof key, "%s.%s", m->arch->name, suffix);
    return rf_gguf_get_f32(m->g, key, &v) == RF_OK ? v : def;
}

/* ---------------------------------------------------------------------------------------------
   Weights */

/* A weight of ne0 x ne1 (x ne2 stacked matrices, for experts), checked against the file; absent
   and optional: data stays NULL. */
static rf_status rf__load_mat3(rf_model *m, const char *name, int64_t ne0, int64_t ne1, int64_t ne2, int required,
                               rf__mat *out) {
    const rf_gguf_tensor *t = rf_gguf_find_tensor(m->g, name);
    const rf_type_traits *tr;
    memset(out, 0, sizeof *out);
    if (!t) return required ? rf__err(RF_ERR_NOT_FOUND, "model: tensor '%s' is missing", name) : RF_OK;
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != ne2 || t->ne[3] != 1)
        return rf__err(RF_ERR_BAD_SHAPE, "model: tensor '%s' is %lld x %lld x %lld x %lld, expected %lld x %lld x %lld",
                       name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                       (long long)ne0, (long long)ne1, (long long)ne2);
    tr = rf_type_get((uint32_t)t->type);
    if (!tr->can_dequant)
        return rf__err(RF_ERR_UNSUPPORTED, "model: tensor '%s' has type %s, which this build cannot compute with",
                       name, tr->name);
    out->data = (const uint8_t *)t->data;
    out->type = t->type;
    out->ne0 = ne0;
    out->ne1 = ne1;
    out->row_bytes = t->size / (uint64_t)(ne1 * ne2);
    if (rf__act_bytes(out) > m->max_act_bytes) m->max_act_bytes = rf__act_bytes(out);
    if (ne1 > m->max_rows) m->max_rows = ne1;
    if (ne0 > m->max_cols) m->max_cols = ne0;
    return RF_OK;
}

static rf_status rf__load_mat(rf_model *m, const char *name, int64_t ne0, int64_t ne1, int required, rf__mat *out) {
    return rf__load_mat3(m, name, ne0, ne1, 1, required, out);
}

/* A 1-D weight of n values, converted to f32 (norms and biases are tiny). */
static rf_status rf__load_vec(rf_model *m, const char *name, int64_t n, int required, float **out) {
    const rf_gguf_tensor *t = rf_gguf_find_tensor(m->g, name);
    rf_status s;
    *out = NULL;
    if (!t) return required ? rf__err(RF_ERR_NOT_FOUND, "model: tensor '%s' is missing", name) : RF_OK;
    if (t->ne[0] != n || t->ne[1] * t->ne[2] * t->ne[3] != 1)
        return rf__err(RF_ERR_BAD_SHAPE, "model: tensor '%s' has %lld x %lld values, expected %lld", name,
                       (long long)t->ne[0], (long long)(t->ne[1] * t->ne[2] * t->ne[3]), (long long)n);
    if (!(*out = RF__NEW(float, n))) return rf__err(RF_ERR_OOM, "model: out of memory for '%s'", name);
    if ((s = rf_dequantize(t->type, t->data, *out, n)) != RF_OK)
        return rf__err(s, "model: tensor '%s': %s", name, rf_last_error());
    return RF_OK;
}

static rf_status rf__load_layer(rf_model *m, int64_t il, rf__layer *L) {
    const unsigned f = m->arch->flags;
    const int64_t d = m->n_embd, q = m->n_head * m->head_dim, kv = m->n_head_kv * m->head_dim;
    char n[96];
    rf_status s = RF_OK;
#define RF__NAME(suffix) (snprintf(n, sizeof n, "blk.%lld.%s", (long long)il, suffix), n)
#define RF__TRY(x) do { if ((s = (x)) != RF_OK) return s; } while (0)
    RF__TRY(rf__load_vec(m, RF__NAME("attn_norm.weight"), d, 1, &L->attn_norm));
    if (f & RF__ARCH_FUSED_QKV) {
        RF__TRY(rf__load_mat(m, RF__NAME("attn_qkv.weight"), d, q + 2 * kv, 1, &L->wqkv));
    } else {
        RF__TRY(rf__load_mat(m, RF__NAME("attn_q.weight"), d, q, 1, &L->wq));
        RF__TRY(rf__load_mat(m, RF__NAME("attn_k.weight"), d, kv, 1, &L->wk));
        RF__TRY(rf__load_mat(m, RF__NAME("attn_v.weight"), d, kv, 1, &L->wv));
    }
    RF__TRY(rf__load_vec(m, RF__NAME("attn_q.bias"), q, (f & RF__ARCH_QKV_BIAS) != 0, &L->bq));
    RF__TRY(rf__load_vec(m, RF__NAME("attn_k.bias"), kv, (f & RF__ARCH_QKV_BIAS) != 0, &L->bk));
    RF__TRY(rf__load_vec(m, RF__NAME("attn_v.bias"), kv, (f & RF__ARCH_QKV_BIAS) != 0, &L->bv));
    RF__TRY(rf__load_vec(m, RF__NAME("attn_q_norm.weight"), m->head_dim, (f & RF__ARCH_QK_NORM) != 0, &L->q_norm));
    RF__TRY(rf__load_vec(m, RF__NAME("attn_k_norm.weight"), m->head_dim, (f & RF__ARCH_QK_NORM) != 0, &L->k_norm));
    RF__TRY(rf__load_mat(m, RF__NAME("attn_output.weight"), q, d, 1, &L->wo));
    RF__TRY(rf__load_vec(m, RF__NAME("post_attention_norm.weight"), d, (f & RF__ARCH_POST_NORMS) != 0, &L->post_attn_norm));
    RF__TRY(rf__load_vec(m, RF__NAME("ffn_norm.weight"), d, 1, &L->ffn_norm));
    if (m->n_expert > 0) {
        RF__TRY(rf__load_mat(m, RF__NAME("ffn_gate_inp.weight"), d, m->n_expert, 1, &L->moe_router));
        RF__TRY(rf__load_mat3(m, RF__NAME("ffn_gate_exps.weight"), d, m->n_ff, m->n_expert, 1, &L->moe_gate));
        RF__TRY(rf__load_mat3(m, RF__NAME("ffn_up_exps.weight"), d, m->n_ff, m->n_expert, 1, &L->moe_up));
        RF__TRY(rf__load_mat3(m, RF__NAME("ffn_down_exps.weight"), m->n_ff, d, m->n_expert, 1, &L->moe_down));
        RF__TRY(rf__load_vec(m, RF__NAME("post_ffw_norm.weight"), d, (f & RF__ARCH_POST_NORMS) != 0, &L->post_ffn_norm));
        return RF_OK;
    }
    if (f & RF__ARCH_FUSED_GATE_UP) {
        RF__TRY(rf__load_mat(m, RF__NAME("ffn_up.weight"), d, 2 * m->n_ff, 1, &L->w_up));
    } else {
        RF__TRY(rf__load_mat(m, RF__NAME("ffn_gate.weight"), d, m->n_ff, 1, &L->w_gate));
        RF__TRY(rf__load_mat(m, RF__NAME("ffn_up.weight"), d, m->n_ff, 1, &L->w_up));
    }
    RF__TRY(rf__load_mat(m, RF__NAME("ffn_down.weight"), m->n_ff, d, 1, &L->w_down));
    RF__TRY(rf__load_vec(m, RF__NAME("post_ffw_norm.weight"), d, (f & RF__ARCH_POST_NORMS) != 0, &L->post_ffn_norm));
#undef RF__TRY
#undef RF__NAME
    return s;
}

RF_API void rf_model_free(rf_model *m) {
    int64_t i;
    if (!m) return;
    if (m->layers) {
        for (i = 0; i < m->n_layer; i++) {
            rf__layer *L = &m->layers[i];
            RF_FREE(L->attn_norm);
            RF_FREE(L->ffn_norm);
            RF_FREE(L->post_attn_norm);
            RF_FREE(L->post_ffn_norm);
            RF_FREE(L->q_norm);
            RF_FREE(L->k_norm);
            RF_FREE(L->bq);
            RF_FREE(L->bk);
            RF_FREE(L->bv);
        }
    }
    rf__hip_model_free(m->gpu);
    RF_FREE(m->layers);
    RF_FREE(m->out_norm);
    RF_FREE(m->rope_freqs);
    rf_tokenizer_free(m->tok);
    rf_gguf_close(m->g);
    RF_FREE(m);
}

static rf_status rf__model_hparams(rf_model *m) {
    rf_status s;
    int64_t v;
    const char *ctype = NULL;
    size_t clen = 0;
    char key[128];
    float factor;
#define RF__TRY(x) do { if ((s = (x)) != RF_OK) return s; } while (0)
    RF__TRY(rf__hp_i64(m, "embedding_length", -1, 1, 1 << 20, &m->n_embd));
    RF__TRY(rf__hp_i64(m, "block_count", -1, 1, 4096, &m->n_layer));
    RF__TRY(rf__hp_i64(m, "attention.head_count", -1, 1, 1 << 14, &m->n_head));
    RF__TRY(rf__hp_i64(m, "attention.head_count_kv", m->n_head, 1, m->n_head, &m->n_head_kv));
    RF__TRY(rf__hp_i64(m, "attention.key_length", m->n_embd / m->n_head, 1, 1 << 14, &m->head_dim));
    RF__TRY(rf__hp_i64(m, "attention.value_length", m->head_dim, 1, 1 << 14, &v));
    if (v != m->head_dim)
        return rf__err(RF_ERR_UNSUPPORTED, "model: value_length %lld differs from key_length %lld", (long long)v,
                       (long long)m->head_dim);
    if (m->n_head % m->n_head_kv)
        return rf__err(RF_ERR_BAD_SHAPE, "model: %lld heads is not a multiple of %lld kv heads",
                       (long long)m->n_head, (long long)m->n_head_kv);
    RF__TRY(rf__hp_i64(m, "feed_forward_length", -1, 1, 1 << 24, &m->n_ff));
    RF__TRY(rf__hp_i64(m, "context_length", 2048, 1, 1 << 24, &m->n_ctx_train));
    RF__TRY(rf__hp_i64(m, "rope.dimension_count", m->head_dim, 2, m->head_dim, &m->n_rot));
    RF__TRY(rf__hp_i64(m, "attention.sliding_window", 0, 0, 1 << 24, &m->sliding_window));
    RF__TRY(rf__hp_i64(m, "expert_count", 0, 0, 1 << 16, &m->n_expert));
    RF__TRY(rf__hp_i64(m, "expert_used_count", m->n_expert ? 2 : 0, 0, m->n_expert, &m->n_expert_used));
    if (m->n_expert > 0 && m->n_expert_used < 1)
        return rf__err(RF_ERR_BAD_SHAPE, "model: %lld experts but expert_used_count is 0", (long long)m->n_expert);
    m->rms_eps = rf__hp_f32(m, "attention.layer_norm_rms_epsilon", 1e-5f);
    m->embed_scale = (m->arch->flags & RF__ARCH_EMBED_SCALE) ? sqrtf((float)m->n_embd) : 1.0f;
    m->attn_scale = 1.0f / sqrtf((float)m->head_dim);
    /* RoPE scaling: linear divides positions by the factor; llama3's per-frequency factors come
       as the rope_freqs.weight tensor; YaRN's are computed in rf__yarn_freqs (after the weights). */
    factor = 1.0f;
    m->rope_mscale = 1.0f;
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch->name);
    if (rf_gguf_get_str(m->g, key, &ctype, &clen) == RF_OK && !(clen == 4 && !memcmp(ctype, "none", 4))) {
        if (clen == 6 && !memcmp(ctype, "linear", 6)) factor = rf__hp_f32(m, "rope.scaling.factor", 1.0f);
        else if (clen == 4 && !memcmp(ctype, "yarn", 4)) m->yarn = 1; /* its factor goes into rope_freqs */
        else return rf__err(RF_ERR_UNSUPPORTED, "model: rope scaling '%.*s' is not supported yet", (int)clen, ctype);
        if (!(factor > 0)) factor = 1.0f;
    }
    {
        float base = rf__hp_f32(m, "rope.freq_base", 10000.0f);
        int64_t il;
        for (il = 0; il < m->n_layer; il++) {
            rf__layer *L = &m->layers[il];
            L->rope_base = base;
            L->rope_scale = 1.0f / factor;
            L->sliding = m->sliding_window > 0;
            if (m->arch->flags & RF__ARCH_SWA_PATTERN6) {
                /* Gemma 3: every 6th layer is global; local layers use base 10000 and no scaling. */
                L->sliding = m->sliding_window > 0 && (il + 1) % 6 != 0;
                if (L->sliding) {
                    L->rope_base = 10000.0f;
                    L->rope_scale = 1.0f;
                }
            }
        }
    }
#undef RF__TRY
    return RF_OK;
}

/* YaRN (Peng et al. 2023, as Hugging Face and llama.cpp compute it): frequencies that rotate
   more than beta_fast times over the original context are kept, those rotating fewer than
   beta_slow times are interpolated by the factor, a linear ramp between; expressed as divisors of
   theta_i. The rotation is scaled by mscale = 0.1 ln(factor) + 1 (times attn_factor if given). */
static rf_status rf__yarn_freqs(rf_model *m) {
    float factor = rf__hp_f32(m, "rope.scaling.factor", 1.0f), base = rf__hp_f32(m, "rope.freq_base", 10000.0f);
    float beta_fast = rf__hp_f32(m, "rope.scaling.yarn_beta_fast", 32.0f);
    float beta_slow = rf__hp_f32(m, "rope.scaling.yarn_beta_slow", 1.0f);
    int64_t orig, i, half = m->n_rot / 2;
    double lo, hi, d = (double)m->n_rot;
    rf_status s = rf__hp_i64(m, "rope.scaling.original_context_length", m->n_ctx_train, 1, 1 << 24, &orig);
    if (s != RF_OK) return s;
    if (!(factor >= 1.0f)) return rf__err(RF_ERR_UNSUPPORTED, "model: YaRN factor %g is below 1", (double)factor);
    if (m->rope_freqs) return rf__err(RF_ERR_UNSUPPORTED, "model: YaRN together with rope_freqs.weight");
    /* the dimension whose frequency turns n times over the original context */
    lo = floor(d * log((double)orig / (beta_fast * 2 * 3.14159265358979323846)) / (2 * log((double)base)));
    hi = ceil(d * log((double)orig / (beta_slow * 2 * 3.14159265358979323846)) / (2 * log((double)base)));
    lo = RF__MAX(lo, 0.0);
    hi = RF__MIN(hi, d - 1);
    if (hi == lo) hi += 0.001;
    if (!(m->rope_freqs = RF__NEW(float, half))) return rf__err(RF_ERR_OOM, "model: out of memory");
    for (i = 0; i < half; i++) {
        double ramp = RF__MIN(RF__MAX(((double)i - lo) / (hi - lo), 0.0), 1.0), keep = 1.0 - ramp;
        m->rope_freqs[i] = (float)(1.0 / ((1.0 - keep) / factor + keep));
    }
    m->rope_mscale = (float)(0.1 * log((double)factor) + 1.0) * rf__hp_f32(m, "rope.scaling.attn_factor", 1.0f);
    return RF_OK;
}

RF_API rf_status rf_model_load(const char *path, const rf_model_params *p, rf_model **out) {
    rf_model *m;
    rf_status s;
    const char *arch = NULL;
    size_t alen = 0, i;
    int64_t il;
    const rf_gguf_tensor *tf;
    if (!path || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_model_load: NULL argument");
    *out = NULL;
    if (!(m = RF__NEWZ(rf_model, 1))) return rf__err(RF_ERR_OOM, "model: out of memory");
    if (p && p->log) m->log = *p->log;
    else m->log.level = RF_LOG_WARN;
    if ((s = rf_gguf_open_ex(path, p ? p->gguf_flags : 0, &m->g)) != RF_OK) goto fail;
    if ((s = rf_gguf_get_str(m->g, "general.architecture", &arch, &alen)) != RF_OK) {
        s = rf__err(RF_ERR_UNSUPPORTED, "model: %s has no general.architecture (a vocab-only file?)", path);
        goto fail;
    }
    for (i = 0; i < sizeof rf__archs / sizeof rf__archs[0]; i++)
        if (strlen(rf__archs[i].name) == alen && !memcmp(rf__archs[i].name, arch, alen)) m->arch = &rf__archs[i];
    if (!m->arch) {
        s = rf__err(RF_ERR_UNSUPPORTED, "model: architecture '%.*s' is not supported (have llama, qwen2, qwen3, gemma3, phi3)",
                    (int)alen, arch);
        goto fail;
    }
    /* the layer array first: hparams fill in per-layer RoPE and window settings */
    if ((s = rf__hp_i64(m, "block_count", -1, 1, 4096, &m->n_layer)) != RF_OK) goto fail;
    if (!(m->layers = RF__NEWZ(rf__layer, m->n_layer))) {
        s = rf__err(RF_ERR_OOM, "model: out of memory");
        goto fail;
    }
    if ((s = rf__model_hparams(m)) != RF_OK) goto fail;
    if ((s = rf_tokenizer_load(m->g, &m->tok)) != RF_OK) goto fail;
    m->n_vocab = rf_tokenizer_n_vocab(m->tok);

    tf = rf_gguf_find_tensor(m->g, "token_embd.weight");
    if (!tf) {
        s = rf__err(RF_ERR_NOT_FOUND, "model: tensor 'token_embd.weight' is missing");
        goto fail;
    }
    if (tf->ne[1] < m->n_vocab) {
        s = rf__err(RF_ERR_BAD_SHAPE, "model: token_embd.weight has %lld rows for %lld tokens", (long long)tf->ne[1],
                    (long long)m->n_vocab);
        goto fail;
    }
    m->n_vocab = tf->ne[1]; /* some files pad the embedding past the vocab */
    if ((s = rf__load_mat(m, "token_embd.weight", m->n_embd, m->n_vocab, 1, &m->tok_embd)) != RF_OK) goto fail;
    if ((s = rf__load_vec(m, "output_norm.weight", m->n_embd, 1, &m->out_norm)) != RF_OK) goto fail;
    if ((s = rf__load_mat(m, "output.weight", m->n_embd, m->n_vocab, 0, &m->output)) != RF_OK) goto fail;
    if (!m->output.data) m->output = m->tok_embd; /* tied embeddings */
    if ((s = rf__load_vec(m, "rope_freqs.weight", m->n_rot / 2, 0, &m->rope_freqs)) != RF_OK) goto fail;
    if (m->yarn && (s = rf__yarn_freqs(m)) != RF_OK) goto fail;
    for (il = 0; il < m->n_layer; il++)
        if ((s = rf__load_layer(m, il, &m->layers[il])) != RF_OK) goto fail;
    if (p && (s = rf__sched_place(m, p)) != RF_OK) goto fail;
    *out = m;
    return RF_OK;
fail:
    rf_model_free(m);
    return s;
}

RF_API const rf_tokenizer *rf_model_tokenizer(const rf_model *m) { return m ? m->tok : NULL; }
RF_API const rf_gguf *rf_model_gguf(const rf_model *m) { return m ? m->g : NULL; }
RF_API const char *rf_model_arch(const rf_model *m) { return m ? m->arch->name : ""; }
RF_API int32_t rf_model_n_vocab(const rf_model *m) { return m ? (int32_t)m->n_vocab : 0; }
RF_API int32_t rf_model_n_ctx_train(const rf_model *m) { return m ? (int32_t)m->n_ctx_train : 0; }

RF_API rf_chat_format rf_model_chat_format(const rf_model *m) {
    const char *t = NULL;
    size_t n = 0;
    if (!m) return RF_CHAT_UNKNOWN;
    if (rf_gguf_get_str(m->g, "tokenizer.chat_template", &t, &n) == RF_OK) return rf_chat_detect(t, n);
    /* no template in the file: the architecture's own format, where it has one */
    if (!strcmp(m->arch->name, "gemma3")) return RF_CHAT_GEMMA;
    if (!strcmp(m->arch->name, "phi3")) return RF_CHAT_PHI3;
    if (!strcmp(m->arch->name, "qwen2") || !strcmp(m->arch->name, "qwen3")) return RF_CHAT_CHATML;
    return RF_CHAT_UNKNOWN;
}
