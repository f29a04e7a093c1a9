/* rf_ctx: one inference session -- the KV cache, scratch buffers, the position -- and the forward
   pass. rf__forward is the whole transformer for one token, in the order of the equations:

     x = embed(token)                                   (x sqrt(d) for gemma)
     per layer:  h = rmsnorm(x);  q,k,v = Wq h, Wk h, Wv h  (+ bias; qk-norm; RoPE)
                 a = softmax(q k^T / sqrt(hd)) v  over the cached positions (a window for SWA)
                 x = x + [post-norm] Wo a
                 h = rmsnorm(x);  x = x + [post-norm] Wdown (act(Wgate h) * Wup h)
     logits = Wout rmsnorm(x)

   The KV cache keeps each position's k and v rows in f16 (or q8_0, or f32), per layer. */

struct rf_ctx {
    const rf_model *m;
    int32_t n_ctx, pos;
    rf_type kv_type;
    uint64_t kv_row_bytes;     /* one position's k (or v) row of one layer */
    uint8_t *k_cache, *v_cache; /* [n_layer][n_ctx][kv_row_bytes] */
    float *x, *xb, *xb2, *qkv, *att, *hb, *hb2, *kv_row, *kv_row_moe, *logits;
    void *qbuf;
    int32_t *tokens;  /* the token at each cached position, for prefix reuse */
    rf__pool *pool;
    struct rf__hip_ctx *gpu;  /* the GPU's KV cache and scratch when the model is on the GPU */
};

RF_API void rf_ctx_free(rf_ctx *c) {
    if (!c) return;
    rf__hip_ctx_free(c->gpu);
    RF_FREE(c->k_cache);
    RF_FREE(c->v_cache);
    RF_FREE(c->x);
    RF_FREE(c->xb);
    RF_FREE(c->xb2);
    RF_FREE(c->qkv);
    RF_FREE(c->att);
    RF_FREE(c->hb);
    RF_FREE(c->hb2);
    RF_FREE(c->kv_row);
    RF_FREE(c->kv_row_moe);
    RF_FREE(c->logits);
    RF_FREE(c->qbuf);
    RF_FREE(c->tokens);
    rf__pool_free(c->pool);
    RF_FREE(c);
}

RF_API rf_status rf_ctx_new(const rf_model *m, const rf_ctx_params *p, rf_ctx **out) {
    rf_ctx *c;
    int64_t kv_dim, q_dim, n_ctx;
    uint64_t cache_bytes;
    rf_status s;
    if (!m || !out) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_new: NULL argument");
    *out = NULL;
    n_ctx = p && p->n_ctx > 0 ? p->n_ctx : RF__MIN(m->n_ctx_train, 4096);
    if (n_ctx > m->n_ctx_train)
        rf__log(&m->log, RF_LOG_WARN, "context %lld is longer than the model was trained for (%lld)",
                (long long)n_ctx, (long long)m->n_ctx_train);
    if (!(c = RF__NEWZ(rf_ctx, 1))) return rf__err(RF_ERR_OOM, "ctx: out of memory");
    c->m = m;
    c->n_ctx = (int32_t)n_ctx;
    c->kv_type = !p || p->kv_type == RF_KV_F16 ? RF_TYPE_F16 : p->kv_type == RF_KV_Q8_0 ? RF_TYPE_Q8_0 : RF_TYPE_F32;
    kv_dim = m->n_head_kv * m->head_dim;
    q_dim = m->n_head * m->head_dim;
    if ((s = rf__pool_new(p ? p->n_threads : 0, &c->pool)) != RF_OK) {
        RF_FREE(c);
        return s;
    }
    if ((s = rf_type_row_bytes(c->kv_type, kv_dim, &c->kv_row_bytes)) != RF_OK) {
        rf_ctx_free(c);
        return rf__err(s, "ctx: a KV row of %lld values cannot be stored as %s", (long long)kv_dim,
                       rf_type_name(c->kv_type));
    }
    if (!rf__mul_u64(c->kv_row_bytes, (uint64_t)(n_ctx * m->n_layer), &cache_bytes) || cache_bytes > SIZE_MAX) {
        rf_ctx_free(c);
        return rf__err(RF_ERR_TOO_LARGE, "ctx: KV cache for %lld positions overflows", (long long)n_ctx);
    }
    c->k_cache = RF__NEW(uint8_t, cache_bytes);
    c->v_cache = RF__NEW(uint8_t, cache_bytes);
    c->x = RF__NEW(float, m->n_embd);
    c->xb = RF__NEW(float, RF__MAX(m->n_embd, q_dim));
    c->xb2 = RF__NEW(float, RF__MAX(m->n_embd, q_dim));
    c->qkv = RF__NEW(float, q_dim + 2 * kv_dim);
    c->att = RF__NEW(float, RF__MAX(m->n_head * n_ctx, m->n_expert));
    c->hb = RF__NEW(float, 2 * m->n_ff);
    c->hb2 = RF__NEW(float, 2 * m->n_ff);
    c->kv_row = RF__NEW(float, kv_dim);
    c->kv_row_moe = RF__NEW(float, m->n_embd);
    c->logits = RF__NEWZ(float, m->n_vocab);
    c->qbuf = RF_MALLOC(m->max_act_bytes ? m->max_act_bytes : 1);
    c->tokens = RF__NEW(int32_t, n_ctx);
    if (!c->kv_row_moe || !c->tokens || !c->k_cache || !c->v_cache || !c->x || !c->xb || !c->xb2 || !c->qkv || !c->att || !c->hb || !c->hb2 ||
        !c->kv_row || !c->logits || !c->qbuf) {
        rf_ctx_free(c);
        return rf__err(RF_ERR_OOM, "ctx: out of memory for a %lld-position context (KV cache %.1f MB)",
                       (long long)n_ctx, 2.0 * (double)cache_bytes / 1e6);
    }
    if (m->gpu && (s = rf__hip_ctx_new(m, c->n_ctx, &c->gpu)) != RF_OK) {
        rf_ctx_free(c);
        return s;
    }
    *out = c;
    return RF_OK;
}

static uint8_t *rf__kv_at(const rf_ctx *c, uint8_t *cache, int64_t layer, int64_t pos) {
    return cache + ((uint64_t)layer * (uint64_t)c->n_ctx + (uint64_t)pos) * c->kv_row_bytes;
}

/* hb = act(hb) * hb2: SwiGLU, or GeGLU for gemma */
static void rf__glu(const rf_model *m, float *hb, const float *hb2) {
    int64_t i;
    if (m->arch->flags & RF__ARCH_GELU)
        for (i = 0; i < m->n_ff; i++) hb[i] = rf__gelu(hb[i]) * hb2[i];
    else
        for (i = 0; i < m->n_ff; i++) hb[i] = rf__silu(hb[i]) * hb2[i];
}

static rf__mat rf__expert(const rf__mat *stack, int64_t e) {
    rf__mat w = *stack;
    w.data += (uint64_t)e * (uint64_t)w.ne1 * w.row_bytes;
    return w;
}

/* Mixtral-style mixture of experts: router probabilities p = softmax(R x); the top k experts,
   their weights renormalized to sum to 1; out = sum_e w_e * down_e(act(gate_e x) * up_e x). */
static void rf__moe(rf_ctx *c, const rf__layer *L, const float *x, float *out) {
    const rf_model *m = c->m;
    float *probs = c->att; /* free at this point of the layer; n_head * n_ctx >= n_expert is checked at ctx creation */
    int64_t chosen[64], k, e, i;
    float wsum = 0;
    rf__matvec(c->pool, &L->moe_router, x, probs, c->qbuf);
    rf__softmax(probs, m->n_expert);
    for (k = 0; k < m->n_expert_used; k++) { /* top-k by selection: k is small */
        int64_t best = -1;
        for (e = 0; e < m->n_expert; e++) {
            int taken = 0;
            for (i = 0; i < k; i++) taken |= chosen[i] == e;
            if (!taken && (best < 0 || probs[e] > probs[best])) best = e;
        }
        chosen[k] = best;
        wsum += probs[best];
    }
    memset(out, 0, sizeof(float) * (size_t)m->n_embd);
    for (k = 0; k < m->n_expert_used; k++) {
        rf__mat g = rf__expert(&L->moe_gate, chosen[k]), u = rf__expert(&L->moe_up, chosen[k]),
                dn = rf__expert(&L->moe_down, chosen[k]);
        float w = probs[chosen[k]] / wsum;
        rf__matvec(c->pool, &g, x, c->hb, c->qbuf);
        rf__matvec(c->pool, &u, x, c->hb2, c->qbuf);
        rf__glu(m, c->hb, c->hb2);
        rf__matvec(c->pool, &dn, c->hb, c->kv_row_moe, c->qbuf);
        for (i = 0; i < m->n_embd; i++) out[i] += w * c->kv_row_moe[i];
    }
}

static void rf__forward(rf_ctx *c, int32_t token, int want_logits) {
    const rf_model *m = c->m;
    const int64_t d = m->n_embd, hd = m->head_dim, nh = m->n_head, nkv = m->n_head_kv;
    const int64_t q_dim = nh * hd, kv_dim = nkv * hd, group = nh / nkv, pos = c->pos;
    const int neox = (m->arch->flags & RF__ARCH_NEOX) != 0;
    float *x = c->x, *xb = c->xb, *xb2 = c->xb2;
    float *q = c->qkv, *k = c->qkv + q_dim, *v = c->qkv + q_dim + kv_dim;
    int64_t l, h, t, i;

    rf__mat_row(&m->tok_embd, token, x);
    if (m->embed_scale != 1.0f)
        for (i = 0; i < d; i++) x[i] *= m->embed_scale;

    for (l = 0; l < m->n_layer; l++) {
        const rf__layer *L = &m->layers[l];
        int64_t t0 = L->sliding ? RF__MAX(0, pos - m->sliding_window + 1) : 0;

        /* attention: q, k, v of this token */
        rf__rmsnorm(xb, x, L->attn_norm, d, m->rms_eps);
        if (L->wqkv.data) {
            rf__matvec(c->pool, &L->wqkv, xb, c->qkv, c->qbuf); /* q, k, v stacked in one output */
        } else {
            rf__matvec(c->pool, &L->wq, xb, q, c->qbuf);
            rf__matvec(c->pool, &L->wk, xb, k, c->qbuf);
            rf__matvec(c->pool, &L->wv, xb, v, c->qbuf);
        }
        if (L->bq) rf__add(q, L->bq, q_dim);
        if (L->bk) rf__add(k, L->bk, kv_dim);
        if (L->bv) rf__add(v, L->bv, kv_dim);
        if (L->q_norm)
            for (h = 0; h < nh; h++) rf__rmsnorm(q + h * hd, q + h * hd, L->q_norm, hd, m->rms_eps);
        if (L->k_norm)
            for (h = 0; h < nkv; h++) rf__rmsnorm(k + h * hd, k + h * hd, L->k_norm, hd, m->rms_eps);
        rf__rope(q, nh, hd, m->n_rot, (int32_t)pos, L->rope_base, L->rope_scale, m->rope_freqs, neox);
        rf__rope(k, nkv, hd, m->n_rot, (int32_t)pos, L->rope_base, L->rope_scale, m->rope_freqs, neox);
        rf_quantize(c->kv_type, k, rf__kv_at(c, c->k_cache, l, pos), kv_dim);
        rf_quantize(c->kv_type, v, rf__kv_at(c, c->v_cache, l, pos), kv_dim);

        /* scores: head h reads kv head h / group (GQA), positions t0..pos */
        for (t = t0; t <= pos; t++) {
            rf_dequantize(c->kv_type, rf__kv_at(c, c->k_cache, l, t), c->kv_row, kv_dim);
            for (h = 0; h < nh; h++) {
                const float *qh = q + h * hd, *kh = c->kv_row + (h / group) * hd;
                float dot = 0;
                for (i = 0; i < hd; i++) dot += qh[i] * kh[i];
                c->att[h * c->n_ctx + t] = dot * m->attn_scale;
            }
        }
        for (h = 0; h < nh; h++) rf__softmax(c->att + h * c->n_ctx + t0, pos - t0 + 1);
        memset(xb2, 0, sizeof(float) * (size_t)q_dim);
        for (t = t0; t <= pos; t++) {
            rf_dequantize(c->kv_type, rf__kv_at(c, c->v_cache, l, t), c->kv_row, kv_dim);
            for (h = 0; h < nh; h++) {
                const float a = c->att[h * c->n_ctx + t], *vh = c->kv_row + (h / group) * hd;
                float *oh = xb2 + h * hd;
                for (i = 0; i < hd; i++) oh[i] += a * vh[i];
            }
        }
        rf__matvec(c->pool, &L->wo, xb2, xb, c->qbuf);
        if (L->post_attn_norm) rf__rmsnorm(xb, xb, L->post_attn_norm, d, m->rms_eps);
        rf__add(x, xb, d);

        /* feed-forward: act(gate) * up, then down (for MoE: a weighted sum over the chosen experts) */
        rf__rmsnorm(xb, x, L->ffn_norm, d, m->rms_eps);
        if (m->n_expert > 0) {
            rf__moe(c, L, xb, xb2);
            memcpy(xb, xb2, sizeof(float) * (size_t)d);
        } else if (L->w_gate.data) {
            rf__matvec(c->pool, &L->w_gate, xb, c->hb, c->qbuf);
            rf__matvec(c->pool, &L->w_up, xb, c->hb2, c->qbuf);
        } else { /* fused: gate rows first, then up rows */
            rf__matvec(c->pool, &L->w_up, xb, c->hb2, c->qbuf);
            memcpy(c->hb, c->hb2, sizeof(float) * (size_t)m->n_ff);
            memmove(c->hb2, c->hb2 + m->n_ff, sizeof(float) * (size_t)m->n_ff);
        }
        if (m->n_expert == 0) {
            rf__glu(m, c->hb, c->hb2);
            rf__matvec(c->pool, &L->w_down, c->hb, xb, c->qbuf);
        }
        if (L->post_ffn_norm) rf__rmsnorm(xb, xb, L->post_ffn_norm, d, m->rms_eps);
        rf__add(x, xb, d);
    }
    c->pos++;
    if (!want_logits) return;
    rf__rmsnorm(x, x, m->out_norm, d, m->rms_eps);
    rf__matvec(c->pool, &m->output, x, c->logits, c->qbuf);
}

RF_API rf_status rf_ctx_decode(rf_ctx *c, const int32_t *tokens, int32_t n) {
    int32_t i;
    if (!c || (!tokens && n > 0) || n < 0) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_decode: bad arguments");
    if (n > c->n_ctx - c->pos)
        return rf__err(RF_ERR_TOO_LARGE, "context full: %d tokens in the cache + %d new > context size %d",
                       c->pos, n, c->n_ctx);
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->m->n_vocab)
            return rf__err(RF_ERR_INVALID_ARG, "token %d at index %d is outside the vocabulary (%lld)", tokens[i], i,
                           (long long)c->m->n_vocab);
    if (c->gpu) { /* the whole forward pass on the GPU (hip.c) */
        rf_status s = rf__hip_decode(c->gpu, tokens, n, c->pos, c->logits);
        if (s == RF_OK) memcpy(c->tokens + c->pos, tokens, sizeof(int32_t) * (size_t)n), c->pos += n;
        return s;
    }
    for (i = 0; i < n; i++) {
        c->tokens[c->pos] = tokens[i];
        rf__forward(c, tokens[i], i == n - 1);
    }
    return RF_OK;
}

RF_API const float *rf_ctx_logits(const rf_ctx *c) { return c ? c->logits : NULL; }
RF_API int32_t rf_ctx_pos(const rf_ctx *c) { return c ? c->pos : 0; }
RF_API int32_t rf_ctx_n_ctx(const rf_ctx *c) { return c ? c->n_ctx : 0; }

RF_API const int32_t *rf_ctx_tokens(const rf_ctx *c, int32_t *n) {
    if (n) *n = c ? c->pos : 0;
    return c ? c->tokens : NULL;
}

RF_API rf_status rf_ctx_truncate(rf_ctx *c, int32_t pos) {
    if (!c || pos < 0) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_truncate: bad arguments");
    if (pos < c->pos) c->pos = pos;
    return RF_OK;
}
