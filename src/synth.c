/* rf_synth_write: a random-weight model of a chosen architecture and shape.

   The metadata keys and tensor names are the ones llama.cpp reads for llama, qwen2 and gemma3
   (GGUF naming convention: "{arch}.embedding_length", "blk.N.attn_q.weight", ...), so the same
   file loads in rocmforge and in llama.cpp. Weights are uniform random with the variance of
   1/fan_in (so activations stay O(1) through the layers), norms are near 1, and every row has
   its own RNG stream seeded from (seed, tensor, row): the bytes do not depend on how many
   threads wrote them. Quantized types go through rf_quantize, the scalar reference. */

typedef enum { RF__SYN_MATRIX, RF__SYN_EMBED, RF__SYN_NORM, RF__SYN_BIAS } rf__syn_kind;

typedef struct rf__syn_tensor {
    uint64_t seed;
    rf__syn_kind kind;
    const rf_logger *log;
    rf__pool *pool;
    int64_t index, count;  /* for progress */
    double t0;
} rf__syn_tensor;

/* splitmix64: a tiny, well-mixed generator; one stream per row. */
static uint64_t rf__splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float rf__syn_uniform(uint64_t *s) {
    return (float)((double)(rf__splitmix(s) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static void rf__syn_row(const rf__syn_tensor *st, int64_t row, float *x, int64_t n) {
    uint64_t s = st->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(row + 1));
    /* uniform on [-a, a] has variance a^2/3: a = sqrt(3/n) gives variance 1/n */
    float a = st->kind == RF__SYN_MATRIX ? sqrtf(3.0f / (float)n) : st->kind == RF__SYN_EMBED ? 1.0f : 0.1f;
    float base = st->kind == RF__SYN_NORM ? 1.0f : 0.0f;
    int64_t i;
    rf__splitmix(&s);
    for (i = 0; i < n; i++) x[i] = base + a * rf__syn_uniform(&s);
}

/* One tensor's rows, split over the pool: thread i writes rows [rows*i/n, rows*(i+1)/n). */
typedef struct rf__syn_job {
    const rf__syn_tensor *st;
    const rf_gguf_tensor *t;
    uint8_t *dst;
    uint64_t row_bytes;
    rf_status status[256]; /* per thread: a pool has at most 256 */
} rf__syn_job;

static void rf__syn_task(void *arg, int ith, int nth) {
    rf__syn_job *j = (rf__syn_job *)arg;
    int64_t n = j->t->ne[0], rows = j->t->ne[1] * j->t->ne[2] * j->t->ne[3], r;
    float *x = RF__NEW(float, n);
    rf_status s = x ? RF_OK : RF_ERR_OOM;
    for (r = rows * ith / nth; r < rows * (ith + 1) / nth && s == RF_OK; r++) {
        rf__syn_row(j->st, r, x, n);
        s = rf_quantize(j->t->type, x, j->dst + (uint64_t)r * j->row_bytes, n);
    }
    RF_FREE(x);
    j->status[ith] = s;
}

static rf_status rf__syn_fill(void *user, const rf_gguf_tensor *t, void *dst, uint64_t size) {
    const rf__syn_tensor *st = (const rf__syn_tensor *)user;
    rf__syn_job j;
    int i;
    j.st = st;
    j.t = t;
    j.dst = (uint8_t *)dst;
    j.row_bytes = size / (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]);
    for (i = 0; i < 256; i++) j.status[i] = RF_OK;
    rf__pool_run(st->pool, rf__syn_task, &j);
    for (i = 0; i < 256; i++)
        if (j.status[i] != RF_OK) return rf__err(j.status[i], "synth: tensor '%s': out of memory", t->name);
    rf__log(st->log, RF_LOG_INFO, "synth: tensor %lld/%lld %s (%s, %.1f MB) %.1f s", (long long)st->index + 1,
            (long long)st->count, t->name, rf_type_name(t->type), (double)size / 1e6, rf__now() - st->t0);
    return RF_OK;
}

/* The pieces of the synthetic vocabulary: roots "a".."z" and marker+"a".."z" ("▁" for SPM, "Ġ"
   for byte-level BPE), then every piece so far plus one letter, breadth first: piece k >= 52 is
   piece (k/26 - 2) plus letter k%26, which is also the BPE merge that makes it. Byte-level BPE
   already has the single letters as byte tokens, so there the first 26 pieces are not emitted. */
typedef struct rf__syn_vocab {
    char **tokens;
    float *scores;
    int32_t *types;
    char **merges;
    uint64_t n_tokens, n_merges;
} rf__syn_vocab;

static void rf__syn_free_strs(char **v, uint64_t n) {
    uint64_t i;
    if (v)
        for (i = 0; i < n; i++) RF_FREE(v[i]);
    RF_FREE(v);
}

static void rf__syn_vocab_free(rf__syn_vocab *v) {
    rf__syn_free_strs(v->tokens, v->n_tokens);
    rf__syn_free_strs(v->merges, v->n_merges);
    RF_FREE(v->scores);
    RF_FREE(v->types);
    memset(v, 0, sizeof *v);
}

/* GPT-2's byte-level alphabet: printable bytes stand for themselves, the other 68 map to
   U+0100 upwards in byte order, so every byte is a visible character. */
static int rf__byte_is_printable(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

static char *rf__byte_to_utf8(int b) {
    int cp = b, c;
    char *s = RF__NEW(char, 3);
    if (!rf__byte_is_printable(b))
        for (cp = 256, c = 0; c < b; c++) cp += !rf__byte_is_printable(c);
    if (!s) return NULL;
    if (cp < 0x80) {
        s[0] = (char)cp;
        s[1] = 0;
    } else { /* cp < 0x800 */
        s[0] = (char)(0xC0 | (cp >> 6));
        s[1] = (char)(0x80 | (cp & 0x3F));
        s[2] = 0;
    }
    return s;
}

static char *rf__concat(const char *a, const char *sep, const char *b) {
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
    char *s = RF__NEW(char, na + ns + nb + 1);
    if (!s) return NULL;
    memcpy(s, a, na);
    memcpy(s + na, sep, ns);
    memcpy(s + na + ns, b, nb + 1);
    return s;
}

static rf_status rf__syn_vocab_make(rf__syn_vocab *v, int bpe, uint64_t n_vocab) {
    static const char *const spm_special[3] = {"<unk>", "<s>", "</s>"};
    static const char *const bpe_special[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    const char *marker = bpe ? "\xC4\xA0" : "\xE2\x96\x81"; /* Ġ (U+0120) or ▁ (U+2581) */
    /* SPM also has the word marker on its own (every real SPM vocab does: a space before a piece
       the vocab lacks becomes "▁" + that piece, not three byte tokens) */
    uint64_t skip = bpe ? 26 : 0, n_pieces = n_vocab - 259 + skip - (bpe ? 0 : 1), k, t = 0;
    char **piece = RF__NEWZ(char *, n_pieces);
    char letter[2] = {0, 0};
    memset(v, 0, sizeof *v);
    v->tokens = RF__NEWZ(char *, n_vocab);
    v->scores = RF__NEWZ(float, n_vocab);
    v->types = RF__NEWZ(int32_t, n_vocab);
    v->merges = bpe ? RF__NEWZ(char *, n_pieces) : NULL;
    if (!piece || !v->tokens || !v->scores || !v->types || (bpe && !v->merges)) goto oom;
    v->n_tokens = n_vocab;
    for (k = 0; k < n_pieces; k++) {
        letter[0] = (char)('a' + k % 26);
        piece[k] = k < 26 ? rf__strdup(letter) : rf__concat(k < 52 ? marker : piece[k / 26 - 2], "", letter);
        if (!piece[k]) goto oom;
        if (bpe && k >= 26) {
            v->merges[v->n_merges] = rf__concat(k < 52 ? marker : piece[k / 26 - 2], " ", letter);
            if (!v->merges[v->n_merges++]) goto oom;
        }
    }
    /* SPM: specials first, then the 256 byte-fallback tokens <0xNN>, then pieces.
       BPE: the 256 byte characters first, then pieces, then specials at the end (as Qwen does). */
    if (!bpe) {
        for (k = 0; k < 3; k++, t++) {
            if (!(v->tokens[t] = rf__strdup(spm_special[k]))) goto oom;
            v->types[t] = k == 0 ? 2 : 3; /* unknown, control */
        }
    }
    for (k = 0; k < 256; k++, t++) {
        char buf[8];
        snprintf(buf, sizeof buf, "<0x%02X>", (unsigned)k);
        v->tokens[t] = bpe ? rf__byte_to_utf8((int)k) : rf__strdup(buf);
        if (!v->tokens[t]) goto oom;
        v->types[t] = bpe ? 1 : 6; /* normal, byte */
    }
    if (!bpe) {
        if (!(v->tokens[t] = rf__strdup(marker))) goto oom;
        v->types[t++] = 1;
    }
    for (k = skip; k < n_pieces; k++, t++) {
        v->tokens[t] = piece[k];
        piece[k] = NULL;
        v->scores[t] = -(float)(k - skip);
        v->types[t] = 1;
    }
    if (bpe) {
        for (k = 0; k < 3; k++, t++) {
            if (!(v->tokens[t] = rf__strdup(bpe_special[k]))) goto oom;
            v->types[t] = 3;
        }
    }
    RF_ASSERT(t == n_vocab);
    rf__syn_free_strs(piece, n_pieces);
    return RF_OK;
oom:
    rf__syn_free_strs(piece, n_pieces);
    rf__syn_vocab_free(v);
    return rf__err(RF_ERR_OOM, "synth: out of memory building a %llu-token vocabulary",
                   (unsigned long long)n_vocab);
}

typedef struct rf__syn_ctx {
    const rf_synth_params *p;
    rf_gguf_writer *w;
    rf__syn_tensor *specs;
    int64_t n_specs, cap;
    rf__type_plan plan;
    const rf_logger *log;
} rf__syn_ctx;

/* ne2 > 1: a stack of ne2 matrices (MoE experts). The router stays f32, as llama.cpp keeps it. */
static rf_status rf__syn_add3(rf__syn_ctx *c, const char *name, rf__syn_kind kind, int64_t layer,
                              int64_t ne0, int64_t ne1, int64_t ne2) {
    int64_t ne[3];
    rf__syn_tensor *st;
    rf_type type = (kind == RF__SYN_NORM || kind == RF__SYN_BIAS || strstr(name, "ffn_gate_inp"))
                       ? RF_TYPE_F32
                       : rf__type_plan_pick(&c->plan, name, layer, c->p->n_layers, ne0, c->log, "synth");
    ne[0] = ne0;
    ne[1] = ne1;
    ne[2] = ne2;
    RF_ASSERT(c->n_specs < c->cap);
    st = &c->specs[c->n_specs];
    st->seed = c->p->seed * 0x9E3779B97F4A7C15ull + (uint64_t)c->n_specs * 0xC2B2AE3D27D4EB4Full;
    st->kind = kind;
    st->log = c->log;
    st->index = c->n_specs++;
    return rf_gguf_add_tensor_fn(c->w, name, type, ne2 > 1 ? 3u : ne1 > 1 ? 2u : 1u, ne, rf__syn_fill, st);
}

static rf_status rf__syn_add(rf__syn_ctx *c, const char *name, rf__syn_kind kind, int64_t layer, int64_t ne0, int64_t ne1) {
    return rf__syn_add3(c, name, kind, layer, ne0, ne1, 1);
}

static rf_status rf__syn_check(const rf_synth_params *p) {
    const char *arch = p->arch;
    if (strcmp(arch, "llama") && strcmp(arch, "qwen2") && strcmp(arch, "gemma3"))
        return rf__err(RF_ERR_UNSUPPORTED, "synth: architecture '%s' (have llama, qwen2, gemma3)", arch);
    if (p->dim < 1 || p->n_layers < 1 || p->n_heads < 1 || p->n_kv_heads < 1 || p->head_dim < 1 ||
        p->ffn < 1 || p->ctx < 1)
        return rf__err(RF_ERR_INVALID_ARG, "synth: every dimension must be at least 1");
    if (p->n_experts < 0 || p->n_experts > 256 || p->n_experts_used < 0 || p->n_experts_used > p->n_experts ||
        (p->n_experts > 0 && p->n_experts_used < 1))
        return rf__err(RF_ERR_INVALID_ARG, "synth: %lld experts, %lld used: want 0..256 experts and 1..experts used",
                       (long long)p->n_experts, (long long)p->n_experts_used);
    if (p->n_heads % p->n_kv_heads)
        return rf__err(RF_ERR_INVALID_ARG, "synth: %lld heads is not a multiple of %lld kv heads",
                       (long long)p->n_heads, (long long)p->n_kv_heads);
    if (p->head_dim % 2)
        return rf__err(RF_ERR_INVALID_ARG, "synth: head_dim %lld must be even (RoPE rotates pairs)",
                       (long long)p->head_dim);
    if (p->vocab < 300)
        return rf__err(RF_ERR_INVALID_ARG, "synth: vocab %lld is below 300 (3 specials + 256 bytes + pieces)",
                       (long long)p->vocab);
    /* every tensor's element count must stay far from int64 overflow */
    if (p->dim > (1 << 20) || p->ffn > (1 << 22) || p->vocab > (1 << 22) || p->n_layers > 4096 ||
        p->n_heads * p->head_dim > (1 << 20) || p->ctx > (1 << 24))
        return rf__err(RF_ERR_TOO_LARGE, "synth: a dimension is beyond the limits (dim <= 2^20, ffn <= 2^22, "
                                         "vocab <= 2^22, layers <= 4096, heads*head_dim <= 2^20, ctx <= 2^24)");
    return RF_OK;
}

static rf_status rf__syn_metadata(rf__syn_ctx *c, rf__syn_vocab *v) {
    const rf_synth_params *p = c->p;
    rf_gguf_writer *w = c->w;
    const char *a = p->arch;
    int bpe = !strcmp(a, "qwen2"), gemma = !strcmp(a, "gemma3");
    char key[128], name[96];
    rf_status s = RF_OK;
    int ft = c->plan.ftype;
#define RF__K(suffix) (snprintf(key, sizeof key, "%s." suffix, a), key)
#define RF__TRY(x) do { if ((s = (x)) != RF_OK) return s; } while (0)
    snprintf(name, sizeof name, "rocmforge synth %s %s", a, p->type);
    RF__TRY(rf_gguf_set_str(w, "general.architecture", a));
    RF__TRY(rf_gguf_set_str(w, "general.name", name));
    if (ft >= 0) RF__TRY(rf_gguf_set_u32(w, "general.file_type", (uint32_t)ft));
    RF__TRY(rf_gguf_set_u32(w, RF__K("context_length"), (uint32_t)p->ctx));
    RF__TRY(rf_gguf_set_u32(w, RF__K("embedding_length"), (uint32_t)p->dim));
    RF__TRY(rf_gguf_set_u32(w, RF__K("block_count"), (uint32_t)p->n_layers));
    RF__TRY(rf_gguf_set_u32(w, RF__K("feed_forward_length"), (uint32_t)p->ffn));
    RF__TRY(rf_gguf_set_u32(w, RF__K("attention.head_count"), (uint32_t)p->n_heads));
    RF__TRY(rf_gguf_set_u32(w, RF__K("attention.head_count_kv"), (uint32_t)p->n_kv_heads));
    RF__TRY(rf_gguf_set_u32(w, RF__K("attention.key_length"), (uint32_t)p->head_dim));
    RF__TRY(rf_gguf_set_u32(w, RF__K("attention.value_length"), (uint32_t)p->head_dim));
    RF__TRY(rf_gguf_set_f32(w, RF__K("attention.layer_norm_rms_epsilon"), bpe || gemma ? 1e-6f : 1e-5f));
    RF__TRY(rf_gguf_set_f32(w, RF__K("rope.freq_base"), bpe || gemma ? 1e6f : 1e4f));
    RF__TRY(rf_gguf_set_u32(w, RF__K("rope.dimension_count"), (uint32_t)p->head_dim));
    if (gemma) RF__TRY(rf_gguf_set_u32(w, RF__K("attention.sliding_window"), 512));
    if (p->n_experts > 0) {
        RF__TRY(rf_gguf_set_u32(w, RF__K("expert_count"), (uint32_t)p->n_experts));
        RF__TRY(rf_gguf_set_u32(w, RF__K("expert_used_count"), (uint32_t)p->n_experts_used));
    }
#undef RF__K
    RF__TRY(rf_gguf_set_str(w, "tokenizer.ggml.model", bpe ? "gpt2" : "llama"));
    if (bpe) RF__TRY(rf_gguf_set_str(w, "tokenizer.ggml.pre", "qwen2"));
    RF__TRY(rf_gguf_set_str_array(w, "tokenizer.ggml.tokens", (const char *const *)v->tokens, v->n_tokens));
    if (!bpe) RF__TRY(rf_gguf_set_array(w, "tokenizer.ggml.scores", RF_GGUF_F32, v->scores, v->n_tokens));
    RF__TRY(rf_gguf_set_array(w, "tokenizer.ggml.token_type", RF_GGUF_I32, v->types, v->n_tokens));
    if (bpe) {
        RF__TRY(rf_gguf_set_str_array(w, "tokenizer.ggml.merges", (const char *const *)v->merges, v->n_merges));
        RF__TRY(rf_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)(v->n_tokens - 1)));
        RF__TRY(rf_gguf_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)(v->n_tokens - 3)));
        RF__TRY(rf_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", 0));
    } else {
        RF__TRY(rf_gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", 0));
        RF__TRY(rf_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1));
        RF__TRY(rf_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2));
        RF__TRY(rf_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", 1));
        RF__TRY(rf_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", 0));
    }
#undef RF__TRY
    return s;
}

static rf_status rf__syn_tensors(rf__syn_ctx *c) {
    const rf_synth_params *p = c->p;
    int qwen = !strcmp(p->arch, "qwen2"), gemma = !strcmp(p->arch, "gemma3");
    int64_t q = p->n_heads * p->head_dim, kv = p->n_kv_heads * p->head_dim, l;
    char n[96];
    rf_status s;
#define RF__ADD(kind, layer, ne0, ne1) do { if ((s = rf__syn_add(c, n, kind, layer, ne0, ne1)) != RF_OK) return s; } while (0)
#define RF__BLK(suffix, kind, ne0, ne1) do { snprintf(n, sizeof n, "blk.%lld." suffix, (long long)l); RF__ADD(kind, l, ne0, ne1); } while (0)
#define RF__BLK3(suffix, ne0, ne1) \
    do { \
        snprintf(n, sizeof n, "blk.%lld." suffix, (long long)l); \
        if ((s = rf__syn_add3(c, n, RF__SYN_MATRIX, l, ne0, ne1, p->n_experts)) != RF_OK) return s; \
    } while (0)
    snprintf(n, sizeof n, "token_embd.weight");
    RF__ADD(RF__SYN_EMBED, -1, p->dim, p->vocab);
    for (l = 0; l < p->n_layers; l++) {
        RF__BLK("attn_norm.weight", RF__SYN_NORM, p->dim, 1);
        RF__BLK("attn_q.weight", RF__SYN_MATRIX, p->dim, q);
        RF__BLK("attn_k.weight", RF__SYN_MATRIX, p->dim, kv);
        RF__BLK("attn_v.weight", RF__SYN_MATRIX, p->dim, kv);
        if (qwen) {
            RF__BLK("attn_q.bias", RF__SYN_BIAS, q, 1);
            RF__BLK("attn_k.bias", RF__SYN_BIAS, kv, 1);
            RF__BLK("attn_v.bias", RF__SYN_BIAS, kv, 1);
        }
        if (gemma) {
            RF__BLK("attn_q_norm.weight", RF__SYN_NORM, p->head_dim, 1);
            RF__BLK("attn_k_norm.weight", RF__SYN_NORM, p->head_dim, 1);
        }
        RF__BLK("attn_output.weight", RF__SYN_MATRIX, q, p->dim);
        if (gemma) RF__BLK("post_attention_norm.weight", RF__SYN_NORM, p->dim, 1);
        RF__BLK("ffn_norm.weight", RF__SYN_NORM, p->dim, 1);
        if (p->n_experts > 0) { /* Mixtral's layout: a router, each expert's matrices stacked */
            RF__BLK("ffn_gate_inp.weight", RF__SYN_MATRIX, p->dim, p->n_experts);
            RF__BLK3("ffn_gate_exps.weight", p->dim, p->ffn);
            RF__BLK3("ffn_up_exps.weight", p->dim, p->ffn);
            RF__BLK3("ffn_down_exps.weight", p->ffn, p->dim);
        } else {
            RF__BLK("ffn_gate.weight", RF__SYN_MATRIX, p->dim, p->ffn);
            RF__BLK("ffn_up.weight", RF__SYN_MATRIX, p->dim, p->ffn);
            RF__BLK("ffn_down.weight", RF__SYN_MATRIX, p->ffn, p->dim);
        }
        if (gemma) RF__BLK("post_ffw_norm.weight", RF__SYN_NORM, p->dim, 1);
    }
    snprintf(n, sizeof n, "output_norm.weight");
    RF__ADD(RF__SYN_NORM, -1, p->dim, 1);
    if (!p->tied_embeddings && !gemma) {
        snprintf(n, sizeof n, "output.weight");
        RF__ADD(RF__SYN_MATRIX, -1, p->dim, p->vocab);
    }
#undef RF__BLK3
#undef RF__BLK
#undef RF__ADD
    return RF_OK;
}

RF_API rf_status rf_synth_write(const rf_synth_params *params, const char *path) {
    rf_synth_params p;
    rf__syn_ctx c;
    rf__syn_vocab v;
    rf__pool *pool = NULL;
    rf_status s;
    int64_t i;
    if (!params || !path) return rf__err(RF_ERR_INVALID_ARG, "rf_synth_write: NULL argument");
    p = *params;
    if (!p.arch) p.arch = "llama";
    if (!p.type) p.type = "f32";
    if (!p.dim) p.dim = 64;
    if (!p.n_layers) p.n_layers = 2;
    if (!p.n_heads) p.n_heads = 4;
    if (!p.n_kv_heads) p.n_kv_heads = p.n_heads;
    if (!p.head_dim) p.head_dim = p.n_heads > 0 ? p.dim / p.n_heads : 0;
    if (!p.ffn) p.ffn = 4 * p.dim;
    if (!p.vocab) p.vocab = 512;
    if (!p.ctx) p.ctx = 2048;
    if (!p.seed) p.seed = 1;
    if (p.n_experts > 0 && !p.n_experts_used) p.n_experts_used = RF__MIN(2, p.n_experts);
    if ((s = rf__syn_check(&p)) != RF_OK) return s;

    memset(&c, 0, sizeof c);
    c.p = &p;
    c.log = p.log;
    if ((s = rf__type_plan_parse(p.type, &c.plan)) != RF_OK) return rf__err(s, "synth: %s", rf_last_error());
    c.cap = 3 + p.n_layers * 16;
    c.specs = RF__NEWZ(rf__syn_tensor, c.cap);
    if (!c.specs) return rf__err(RF_ERR_OOM, "synth: out of memory");
    if ((s = rf__syn_vocab_make(&v, !strcmp(p.arch, "qwen2"), (uint64_t)p.vocab)) != RF_OK) {
        RF_FREE(c.specs);
        return s;
    }
    s = rf__pool_new(0, &pool);
    if (s == RF_OK) s = rf_gguf_writer_new(&c.w);
    if (s == RF_OK) s = rf__syn_metadata(&c, &v);
    if (s == RF_OK) s = rf__syn_tensors(&c);
    for (i = 0; i < c.n_specs; i++) {
        c.specs[i].count = c.n_specs;
        c.specs[i].t0 = rf__now();
        c.specs[i].pool = pool;
    }
    if (s == RF_OK) s = rf_gguf_writer_write(c.w, path);
    rf_gguf_writer_free(c.w);
    rf__pool_free(pool);
    rf__syn_vocab_free(&v);
    RF_FREE(c.specs);
    return s;
}
