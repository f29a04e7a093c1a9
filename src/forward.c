/* rf_ctx: one inference session -- the KV cache, scratch buffers, the position -- and the forward
   pass. rf__forward runs a batch of rows (up to RF__BATCH) through the transformer, in the order
   of the equations, every row of the batch through each step together. Row t is one token of one
   context at one position: a prompt is many rows of one context, the server's decode step one
   row for each of its slots' contexts (rf_ctx_decode_batch).

     x = embed(token)                                   (x sqrt(d) for gemma)
     per layer:  h = rmsnorm(x);  q,k,v = Wq h, Wk h, Wv h  (+ bias; qk-norm; RoPE)
                 a = softmax(q k^T / sqrt(hd)) v  over the row's context's cached positions <=
                     the row's own (a window for SWA): causal inside the batch
                 x = x + [post-norm] Wo a
                 h = rmsnorm(x);  x = x + [post-norm] Wdown (act(Wgate h) * Wup h)
     logits = Wout rmsnorm(x)          (the rows that want them: a context's last)

   A batch reads each weight once for all its rows (ops.c: rf__matmul_prepared), which makes
   prompt processing compute bound, and lets many sequences share one decode step.
   The KV cache keeps each position's k and v rows in f16 (or q8_0, or f32), per layer, in pages
   of RF_KV_PAGE positions (kv.c). */

#define RF__BATCH 128 /* rows per forward pass: 128 amortize weight reads and the GEMM's panel packing ~128x */

struct rf_ctx {
    const rf_model *m;
    int32_t n_ctx, pos;
    rf_type kv_type;
    uint64_t kv_row_bytes;     /* one position's k (or v) row of one layer */
    rf_kv_pool *kv;            /* where the pages come from: shared, or kv_own */
    rf_kv_pool *kv_own;        /* a private pool (no shared one given), freed with the context */
    int32_t *page_ids;         /* [ceil(n_ctx / RF_KV_PAGE)]: the pages held, in position order */
    int32_t n_pages;
    /* per row of a batch: [RF__BATCH][width] */
    float *x, *xb, *xb2, *qkv, *hb, *hb2;
    int64_t ld_xb, ld_qkv, ld_hb; /* row widths of xb/xb2, qkv, hb/hb2 */
    float *att;        /* attention scratch, [n_threads][att_per_thread] */
    int64_t att_per_thread;
    float *probs, *kv_row_moe, *logits;
    float *logits_rows; /* logits of a batch's rows before they go to their contexts [n][n_vocab] */
    int64_t n_logits_rows;
    void *qbuf;        /* quantized activations of a batch, [RF__BATCH][max_act_bytes] */
    void *qbuf1;       /* ... of one vector (MoE experts, logits) */
    int32_t *tokens;   /* the token at each cached position, for prefix reuse */
    rf_type act_type;  /* the format qbuf holds the batch's activations in */
    rf__pool *pool;
    struct rf__hip_ctx *gpu;  /* the GPU's KV cache and scratch for its layers (sched.c), or NULL */
    double t_cpu, t_gpu;      /* seconds of forward pass on each device (rf_ctx_device_seconds) */
    rf__kernels k;     /* the CPU kernels this context computes with (cpu.c, simd.c) */
    rf__gemm_scratch *gemm; /* the packed GEMM's scratch (ops.c), or NULL: the kernels have none */
};

/* One forward pass's rows: token tok[t] of context seq[t] at position pos[t]. The rows of one
   context are consecutive and in position order. want[t]: the logits after row t go to
   seq[t]->logits. */
typedef struct rf__batch {
    int64_t n;
    rf_ctx *seq[RF__BATCH];
    int32_t tok[RF__BATCH], pos[RF__BATCH];
    int want[RF__BATCH];
} rf__batch;

/* Give back the pages past the first n_keep. */
static void rf__kv_release(rf_ctx *c, int32_t n_keep) {
    while (c->n_pages > n_keep) rf__kv_page_give(c->kv, c->page_ids[--c->n_pages]);
}

RF_API void rf_ctx_free(rf_ctx *c) {
    if (!c) return;
    rf__hip_ctx_free(c->gpu);
    if (c->kv) rf__kv_release(c, 0);
    rf_kv_pool_free(c->kv_own);
    RF_FREE(c->page_ids);
    RF_FREE(c->x);
    RF_FREE(c->xb);
    RF_FREE(c->xb2);
    RF_FREE(c->qkv);
    RF_FREE(c->att);
    RF_FREE(c->hb);
    RF_FREE(c->hb2);
    RF_FREE(c->probs);
    RF_FREE(c->kv_row_moe);
    RF_FREE(c->logits);
    RF_FREE(c->logits_rows);
    RF_FREE(c->qbuf);
    RF_FREE(c->qbuf1);
    RF_FREE(c->tokens);
    rf__gemm_scratch_free(c->gemm);
    rf__pool_free(c->pool);
    RF_FREE(c);
}

RF_API rf_status rf_ctx_new(const rf_model *m, const rf_ctx_params *p, rf_ctx **out) {
    rf_ctx *c;
    int64_t kv_dim, q_dim, n_ctx, group;
    uint64_t act_bytes;
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
    c->kv_type = rf__kv_rf_type(p ? p->kv_type : RF_KV_F16);
    kv_dim = m->n_head_kv * m->head_dim;
    q_dim = m->n_head * m->head_dim;
    group = m->n_head / m->n_head_kv;
    if ((s = rf__kernels_pick(p ? p->cpu_kernels : NULL, &c->k)) != RF_OK) {
        RF_FREE(c);
        return s;
    }
    if ((s = rf__pool_new(p ? p->n_threads : 0, &c->pool)) != RF_OK) {
        RF_FREE(c);
        return s;
    }
    if (p && p->kv_pool) {
        if (p->kv_pool->type != c->kv_type || p->kv_pool->n_layer != m->n_layer ||
            rf_type_row_bytes(c->kv_type, kv_dim, &c->kv_row_bytes) != RF_OK || c->kv_row_bytes != p->kv_pool->row_bytes) {
            rf_ctx_free(c);
            return rf__err(RF_ERR_INVALID_ARG, "ctx: the KV pool was made for another model or KV type");
        }
        c->kv = p->kv_pool;
    } else if ((s = rf__kv_pool_make(m, c->kv_type, n_ctx, 1, &c->kv_own)) != RF_OK) {
        rf_ctx_free(c);
        return s;
    } else {
        c->kv = c->kv_own;
    }
    c->kv_row_bytes = c->kv->row_bytes;
    act_bytes = m->max_act_bytes ? m->max_act_bytes : 1;
    c->ld_xb = RF__MAX(m->n_embd, q_dim);
    c->ld_qkv = q_dim + 2 * kv_dim;
    c->ld_hb = 2 * m->n_ff;
    /* per thread: scores of `group` heads over n_ctx positions, then one f32 K/V row */
    c->att_per_thread = group * n_ctx + kv_dim;
    c->page_ids = RF__NEW(int32_t, (n_ctx + RF_KV_PAGE - 1) / RF_KV_PAGE);
    c->x = RF__NEW(float, RF__BATCH * m->n_embd);
    c->xb = RF__NEW(float, RF__BATCH * c->ld_xb);
    c->xb2 = RF__NEW(float, RF__BATCH * c->ld_xb);
    c->qkv = RF__NEW(float, RF__BATCH * c->ld_qkv);
    c->att = RF__NEW(float, c->pool->n * c->att_per_thread);
    c->hb = RF__NEW(float, RF__BATCH * c->ld_hb);
    c->hb2 = RF__NEW(float, RF__BATCH * c->ld_hb);
    c->probs = RF__NEW(float, m->n_expert + 1);
    c->kv_row_moe = RF__NEW(float, m->n_embd);
    c->logits = RF__NEWZ(float, m->n_vocab);
    c->qbuf = RF_MALLOC(RF__BATCH * act_bytes);
    c->qbuf1 = RF_MALLOC(act_bytes);
    c->tokens = RF__NEW(int32_t, n_ctx);
    if (rf__kernels_have_gemm(&c->k) && m->max_cols > 0 && !(c->gemm = rf__gemm_scratch_new(m->max_cols, c->pool->n, RF__BATCH))) {
        rf_ctx_free(c);
        return rf__err(RF_ERR_OOM, "ctx: out of memory for the matrix-product scratch");
    }
    if (!c->kv_row_moe || !c->tokens || !c->page_ids || !c->x || !c->xb || !c->xb2 || !c->qkv || !c->att ||
        !c->hb || !c->hb2 || !c->probs || !c->logits || !c->qbuf || !c->qbuf1) {
        rf_ctx_free(c);
        return rf__err(RF_ERR_OOM, "ctx: out of memory for a %lld-position context", (long long)n_ctx);
    }
    if ((s = rf__sched_ctx_new(c)) != RF_OK) {
        rf_ctx_free(c);
        return s;
    }
    *out = c;
    return RF_OK;
}

RF_API rf_status rf_ctx_reserve(rf_ctx *c, int32_t n_positions) {
    if (!c || n_positions < 0) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_reserve: bad arguments");
    if (n_positions > c->n_ctx)
        return rf__err(RF_ERR_TOO_LARGE, "context full: %d positions > context size %d", n_positions, c->n_ctx);
    while ((int64_t)c->n_pages * RF_KV_PAGE < n_positions) {
        int32_t id = rf__kv_page_take(c->kv);
        if (id < 0)
            return rf__err(RF_ERR_OOM, "KV cache: the pool's %d pages (%d positions each) are all in use",
                           c->kv->n_pages, RF_KV_PAGE);
        c->page_ids[c->n_pages++] = id;
    }
    return RF_OK;
}

RF_API int64_t rf_ctx_kv_bytes(const rf_ctx *c) { return c ? (int64_t)c->n_pages * (int64_t)c->kv->page_bytes : 0; }

RF_API const char *rf_ctx_cpu_kernels(const rf_ctx *c) { return c ? c->k.name : NULL; }

/* Where position pos's k (which 0) or v (which 1) row of layer `layer` lives: its page, then
   the layout of kv.c. pos < n_pages * RF_KV_PAGE (rf_ctx_reserve ran first). */
static uint8_t *rf__kv_at(const rf_ctx *c, int which, int64_t layer, int64_t pos) {
    uint8_t *page = c->kv->pages[c->page_ids[pos / RF_KV_PAGE]];
    return page + (((uint64_t)which * (uint64_t)c->m->n_layer + (uint64_t)layer) * RF_KV_PAGE + (uint64_t)(pos % RF_KV_PAGE)) *
                      c->kv_row_bytes;
}

/* y[t] = W x[t] for the n rows of the batch; `same_input`: x is what the previous call
   quantized (q, k and v share one input, as do gate and up), so its activations are reused. */
static void rf__matmul(rf_ctx *c, const rf__mat *w, const float *x, int64_t ldx, int64_t n, float *y, int64_t ldy,
                       int same_input) {
    uint64_t stride = 0;
    const void *a;
    if (same_input && rf_type_get((uint32_t)w->type)->vec_dot_type != RF_TYPE_F32) {
        /* re-quantize only if the previous matrix wanted another activation format */
        a = c->qbuf;
        stride = rf__act_bytes(w);
        if (c->act_type != rf_type_get((uint32_t)w->type)->vec_dot_type) a = rf__prepare_acts(c->pool, &c->k, w, x, ldx, n, c->qbuf, &stride);
    } else {
        a = rf__prepare_acts(c->pool, &c->k, w, x, ldx, n, c->qbuf, &stride);
    }
    c->act_type = rf_type_get((uint32_t)w->type)->vec_dot_type;
    rf__matmul_prepared(c->pool, &c->k, w, a, stride, n, y, ldy, c->gemm);
}

/* y_i[t] = W_i x[t] for np matrices that read the same x (q, k, v; gate, up), into rows of
   stride ldy: one quantization of x and, when the W_i want the same activation, one pool job over
   all their rows (rf__matmul_parts). */
static void rf__matmul_same_x(rf_ctx *c, const rf__mat *const *ws, float *const *ys, int np, const float *x, int64_t ldx,
                              int64_t n, int64_t ldy) {
    const rf_type at = rf_type_get((uint32_t)ws[0]->type)->vec_dot_type;
    uint64_t stride = 0;
    const void *a;
    int i;
    for (i = 1; i < np; i++)
        if (rf_type_get((uint32_t)ws[i]->type)->vec_dot_type != at || ws[i]->ne0 != ws[0]->ne0) break;
    if (i < np) { /* another activation format or length: one matrix at a time */
        for (i = 0; i < np; i++) rf__matmul(c, ws[i], x, ldx, n, ys[i], ldy, i > 0);
        return;
    }
    a = rf__prepare_acts(c->pool, &c->k, ws[0], x, ldx, n, c->qbuf, &stride);
    c->act_type = at;
    rf__matmul_parts(c->pool, &c->k, ws, ys, np, a, stride, n, ldy, c->gemm);
}

/* out = act(gate) * up: SwiGLU, or GeGLU for gemma (out may be gate) */
static void rf__glu(const rf_ctx *c, float *out, const float *gate, const float *up) {
    if (c->m->arch->flags & RF__ARCH_GELU)
        c->k.glu_gelu(out, gate, up, c->m->n_ff);
    else
        c->k.glu_silu(out, gate, up, c->m->n_ff);
}

/* The rows of a batch through rf__glu into hb, dealt over the threads: gate is hb (fused: hb2)
   at g_off of each row, up is hb2 at u_off (the fused form keeps both in hb2). */
typedef struct rf__glu_job {
    const rf_ctx *c;
    int64_t n, g_off, u_off;
    int fused;
} rf__glu_job;

static void rf__glu_task(void *arg, int ith, int nth) {
    const rf__glu_job *j = (const rf__glu_job *)arg;
    const rf_ctx *c = j->c;
    int64_t t;
    for (t = ith; t < j->n; t += nth)
        rf__glu(c, c->hb + t * c->ld_hb, (j->fused ? c->hb2 : c->hb) + t * c->ld_hb + j->g_off, c->hb2 + t * c->ld_hb + j->u_off);
}

static rf__mat rf__expert(const rf__mat *stack, int64_t e) {
    rf__mat w = *stack;
    w.data += (uint64_t)e * (uint64_t)w.ne1 * w.row_bytes;
    return w;
}

/* Mixtral-style mixture of experts, one token: router probabilities p = softmax(R x); the top k
   experts, their weights renormalized to sum to 1; out = sum_e w_e * down_e(act(gate_e x) * up_e x).
   hb, hb2: n_ff floats of scratch. */
static void rf__moe(rf_ctx *c, const rf__layer *L, const float *x, float *out, float *hb, float *hb2) {
    const rf_model *m = c->m;
    float *probs = c->probs;
    int64_t chosen[64], k, e, i;
    float wsum = 0;
    rf__matvec(c->pool, &c->k, &L->moe_router, x, probs, c->qbuf1);
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
        rf__matvec(c->pool, &c->k, &g, x, hb, c->qbuf1);
        rf__matvec(c->pool, &c->k, &u, x, hb2, c->qbuf1);
        rf__glu(c, hb, hb, hb2);
        rf__matvec(c->pool, &c->k, &dn, hb, c->kv_row_moe, c->qbuf1);
        for (i = 0; i < m->n_embd; i++) out[i] += w * c->kv_row_moe[i];
    }
}

/* ---------------------------------------------------------------------------------------------
   The layer steps, each over the rows of the batch b. c is the context whose scratch, threads and
   kernels compute; b->seq[t] the one whose cache row t reads and writes. */

typedef struct rf__layer_job {
    rf_ctx *c;
    const rf__batch *b;
    int64_t l, n;      /* layer, rows */
    const float *norm; /* rf__norm_rows_task: the gain */
} rf__layer_job;

/* Row t of the batch after Wq, Wk, Wv: bias, qk-norm, RoPE, then k and v into the cache. The rows
   are independent (each writes its own context's position), so a batch's are dealt over the
   threads. */
static void rf__qkv_rows_task(void *arg, int ith, int nth) {
    const rf__layer_job *j = (const rf__layer_job *)arg;
    const rf_ctx *c = j->c;
    const rf_model *m = c->m;
    const rf__layer *L = &m->layers[j->l];
    const int64_t hd = m->head_dim, nh = m->n_head, nkv = m->n_head_kv, q_dim = nh * hd, kv_dim = nkv * hd;
    const int neox = (m->arch->flags & RF__ARCH_NEOX) != 0;
    int64_t t, h;
    for (t = ith; t < j->b->n; t += nth) {
        float *q = c->qkv + t * c->ld_qkv, *k = q + q_dim, *v = q + q_dim + kv_dim;
        const rf_ctx *s = j->b->seq[t];
        int32_t pos = j->b->pos[t];
        if (L->bq) rf__add(q, L->bq, q_dim);
        if (L->bk) rf__add(k, L->bk, kv_dim);
        if (L->bv) rf__add(v, L->bv, kv_dim);
        if (L->q_norm)
            for (h = 0; h < nh; h++) rf__rmsnorm(q + h * hd, q + h * hd, L->q_norm, hd, m->rms_eps);
        if (L->k_norm)
            for (h = 0; h < nkv; h++) rf__rmsnorm(k + h * hd, k + h * hd, L->k_norm, hd, m->rms_eps);
        rf__rope(q, nh, k, nkv, hd, m->n_rot, pos, L->rope_base, L->rope_scale, m->rope_freqs, m->rope_mscale, neox);
        c->k.quant[s->kv_type](k, rf__kv_at(s, 0, j->l, pos), kv_dim);
        c->k.quant[s->kv_type](v, rf__kv_at(s, 1, j->l, pos), kv_dim);
    }
}

/* xb = rmsnorm(x) * norm for the rows of the batch, dealt over the threads */
static void rf__norm_rows_task(void *arg, int ith, int nth) {
    const rf__layer_job *j = (const rf__layer_job *)arg;
    const rf_ctx *c = j->c;
    int64_t t;
    for (t = ith; t < j->n; t += nth)
        rf__rmsnorm(c->xb + t * c->ld_xb, c->x + t * c->m->n_embd, j->norm, c->m->n_embd, c->m->rms_eps);
}

/* fn over n rows: dealt over the threads when there are several, on this thread for one. */
static void rf__rows_run(rf_ctx *c, const rf__batch *b, int64_t l, int64_t n, const float *norm, rf__task_fn fn) {
    rf__layer_job j;
    j.c = c;
    j.b = b;
    j.l = l;
    j.n = n;
    j.norm = norm;
    if (n > 1)
        rf__pool_run(c->pool, fn, &j);
    else
        fn(&j, 0, 1);
}

static void rf__norm_rows(rf_ctx *c, int64_t n, const float *norm) {
    rf__rows_run(c, NULL, 0, n, norm, rf__norm_rows_task);
}

/* x += [rmsnorm(xb) * norm] (a block's output into the residual stream), rows over the threads */
static void rf__residual_rows_task(void *arg, int ith, int nth) {
    const rf__layer_job *j = (const rf__layer_job *)arg;
    const rf_ctx *c = j->c;
    const int64_t d = c->m->n_embd;
    int64_t t;
    for (t = ith; t < j->n; t += nth) {
        float *o = c->xb + t * c->ld_xb;
        if (j->norm) rf__rmsnorm(o, o, j->norm, d, c->m->rms_eps);
        rf__add(c->x + t * d, o, d);
    }
}

static void rf__residual_rows(rf_ctx *c, int64_t n, const float *norm) {
    rf__rows_run(c, NULL, 0, n, norm, rf__residual_rows_task);
}

/* h = rmsnorm(x); q, k, v = Wq h, Wk h, Wv h (+ bias, qk-norm, RoPE); k and v into the cache */
static void rf__attn_qkv(rf_ctx *c, const rf__batch *b, int64_t l) {
    const rf_model *m = c->m;
    const rf__layer *L = &m->layers[l];
    const int64_t hd = m->head_dim, n = b->n, q_dim = m->n_head * hd, kv_dim = m->n_head_kv * hd;
    rf__norm_rows(c, n, L->attn_norm);
    if (L->wqkv.data) {
        rf__matmul(c, &L->wqkv, c->xb, c->ld_xb, n, c->qkv, c->ld_qkv, 0); /* q, k, v stacked in one output */
    } else {
        const rf__mat *ws[3];
        float *ys[3];
        ws[0] = &L->wq, ws[1] = &L->wk, ws[2] = &L->wv;
        ys[0] = c->qkv, ys[1] = c->qkv + q_dim, ys[2] = c->qkv + q_dim + kv_dim;
        rf__matmul_same_x(c, ws, ys, 3, c->xb, c->ld_xb, n, c->ld_qkv);
    }
    rf__rows_run(c, b, l, n, NULL, rf__qkv_rows_task);
}

/* KV head g of the cached position p of context s as f32: in place for an f32 cache, the head's
   slice converted for f16, the whole row dequantized for q8_0 (its blocks need not align with
   heads). */
static const float *rf__kv_head(const rf_ctx *c, const rf_ctx *s, int which, int64_t l, int64_t p, int64_t g, float *row) {
    const int64_t hd = c->m->head_dim;
    const uint8_t *r = rf__kv_at(s, which, l, p);
    if (s->kv_type == RF_TYPE_F32) return (const float *)(const void *)r + g * hd;
    if (s->kv_type == RF_TYPE_F16) {
        c->k.dequant[RF_TYPE_F16](r + 2 * g * hd, row, hd);
        return row;
    }
    c->k.dequant[s->kv_type](r, row, c->m->n_head_kv * hd);
    return row + g * hd;
}

/* Row t, the query heads sharing KV head g (GQA): scores over its context's positions t0..pos
   (causal: a row sees the ones of its context before it, already in the cache), softmax, then the
   sum of v weighted by them into xb2. `scratch`: this thread's att_per_thread floats, scores at
   stride c->n_ctx (the batch's contexts have n_ctx <= c's). */
static void rf__attend(rf_ctx *c, const rf__batch *b, int64_t l, int64_t t, int64_t g, float *scratch) {
    const rf_model *m = c->m;
    const rf__layer *L = &m->layers[l];
    const rf_ctx *s = b->seq[t];
    const int64_t hd = m->head_dim, group = m->n_head / m->n_head_kv, pos = b->pos[t];
    const int64_t t0 = L->sliding ? RF__MAX(0, pos - m->sliding_window + 1) : 0;
    const float *q = c->qkv + t * c->ld_qkv + g * group * hd;
    float *out = c->xb2 + t * c->ld_xb + g * group * hd, *row = scratch + group * c->n_ctx;
    int64_t p, j, i;
    if (s->kv_type == RF_TYPE_F16) { /* the default cache: straight from the f16 rows, a page's run at a time */
        int64_t pe;
        for (p = t0; p <= pos; p = pe) {
            const uint8_t *kh = rf__kv_at(s, 0, l, p) + 2 * g * hd;
            pe = RF__MIN(pos + 1, (p / RF_KV_PAGE + 1) * RF_KV_PAGE);
            for (j = 0; j < group; j++)
                c->k.qk_f16(scratch + j * c->n_ctx + p, q + j * hd, kh, s->kv_row_bytes, pe - p, hd, m->attn_scale);
        }
        for (j = 0; j < group; j++) c->k.softmax(scratch + j * c->n_ctx + t0, pos - t0 + 1);
        memset(out, 0, sizeof(float) * (size_t)(group * hd));
        for (p = t0; p <= pos; p = pe) {
            const uint8_t *vh = rf__kv_at(s, 1, l, p) + 2 * g * hd;
            pe = RF__MIN(pos + 1, (p / RF_KV_PAGE + 1) * RF_KV_PAGE);
            for (j = 0; j < group; j++)
                c->k.pv_f16(out + j * hd, scratch + j * c->n_ctx + p, vh, s->kv_row_bytes, pe - p, hd);
        }
        return;
    }
    for (p = t0; p <= pos; p++) {
        const float *kh = rf__kv_head(c, s, 0, l, p, g, row);
        for (j = 0; j < group; j++) scratch[j * c->n_ctx + p] = (float)c->k.dot_f32(q + j * hd, kh, hd) * m->attn_scale;
    }
    for (j = 0; j < group; j++) rf__softmax(scratch + j * c->n_ctx + t0, pos - t0 + 1);
    memset(out, 0, sizeof(float) * (size_t)(group * hd));
    for (p = t0; p <= pos; p++) {
        const float *vh = rf__kv_head(c, s, 1, l, p, g, row);
        for (j = 0; j < group; j++) {
            const float a = scratch[j * c->n_ctx + p];
            float *oh = out + j * hd;
            for (i = 0; i < hd; i++) oh[i] += a * vh[i];
        }
    }
}

typedef struct rf__attn_job {
    rf_ctx *c;
    const rf__batch *b;
    int64_t l;
} rf__attn_job;

/* (row, KV head) pairs dealt round-robin over the threads */
static void rf__attn_task(void *arg, int ith, int nth) {
    const rf__attn_job *j = (const rf__attn_job *)arg;
    const int64_t nkv = j->c->m->n_head_kv;
    int64_t u;
    for (u = ith; u < j->b->n * nkv; u += nth)
        rf__attend(j->c, j->b, j->l, u / nkv, u % nkv, j->c->att + ith * j->c->att_per_thread);
}

/* x = x + [post-norm] Wo attention(q, cache) */
static void rf__attn_out(rf_ctx *c, const rf__batch *b, int64_t l) {
    const rf_model *m = c->m;
    const rf__layer *L = &m->layers[l];
    rf__attn_job j;
    j.c = c;
    j.b = b;
    j.l = l;
    rf__pool_run(c->pool, rf__attn_task, &j);
    rf__matmul(c, &L->wo, c->xb2, c->ld_xb, b->n, c->xb, c->ld_xb, 0);
    rf__residual_rows(c, b->n, L->post_attn_norm);
}

/* x = x + [post-norm] Wdown (act(Wgate h) * Wup h), h = rmsnorm(x); MoE: a weighted sum over the
   chosen experts, row by row */
static void rf__ffn(rf_ctx *c, int64_t l, int64_t n) {
    const rf_model *m = c->m;
    const rf__layer *L = &m->layers[l];
    const int64_t d = m->n_embd, ff = m->n_ff;
    int64_t t;
    rf__norm_rows(c, n, L->ffn_norm);
    if (m->n_expert > 0) {
        for (t = 0; t < n; t++) {
            float *h = c->xb + t * c->ld_xb, *o = c->xb2 + t * c->ld_xb;
            rf__moe(c, L, h, o, c->hb + t * c->ld_hb, c->hb2 + t * c->ld_hb);
            memcpy(h, o, sizeof(float) * (size_t)d);
        }
    } else {
        rf__glu_job gj;
        gj.c = c;
        gj.n = n;
        if (L->w_gate.data) {
            const rf__mat *ws[2];
            float *ys[2];
            ws[0] = &L->w_gate, ws[1] = &L->w_up;
            ys[0] = c->hb, ys[1] = c->hb2;
            rf__matmul_same_x(c, ws, ys, 2, c->xb, c->ld_xb, n, c->ld_hb);
            gj.fused = 0, gj.g_off = 0, gj.u_off = 0;
        } else { /* fused: gate rows first, then up rows */
            rf__matmul(c, &L->w_up, c->xb, c->ld_xb, n, c->hb2, c->ld_hb, 0);
            gj.fused = 1, gj.g_off = 0, gj.u_off = ff;
        }
        if (n > 1)
            rf__pool_run(c->pool, rf__glu_task, &gj);
        else
            rf__glu_task(&gj, 0, 1);
        rf__matmul(c, &L->w_down, c->hb, c->ld_hb, n, c->xb, c->ld_xb, 0);
    }
    rf__residual_rows(c, n, L->post_ffn_norm);
}

/* The logits after the rows that want them, into their contexts: one row is a matvec; more
   share one read of the output matrix through c->logits_rows (sized by the caller). */
static void rf__logits(rf_ctx *c, const rf__batch *b) {
    const rf_model *m = c->m;
    const int64_t d = m->n_embd;
    int64_t t, nw = 0;
    for (t = 0; t < b->n; t++) {
        if (!b->want[t]) continue;
        rf__rmsnorm(c->xb + nw * c->ld_xb, c->x + t * d, m->out_norm, d, m->rms_eps);
        nw++;
    }
    if (nw == 0) return;
    if (nw == 1) {
        for (t = 0; !b->want[t]; t++) {}
        rf__matvec(c->pool, &c->k, &m->output, c->xb, b->seq[t]->logits, c->qbuf1);
        return;
    }
    rf__matmul(c, &m->output, c->xb, c->ld_xb, nw, c->logits_rows, m->n_vocab, 0);
    for (t = 0, nw = 0; t < b->n; t++)
        if (b->want[t]) memcpy(b->seq[t]->logits, c->logits_rows + nw++ * m->n_vocab, sizeof(float) * (size_t)m->n_vocab);
}

/* The whole transformer for the rows of b (their pages reserved), computed with c's scratch;
   the layers on their devices (sched.c: on a model split between CPU and GPU, b holds rows of c
   only). */
static rf_status rf__forward(rf_ctx *c, const rf__batch *b) {
    const rf_model *m = c->m;
    const int64_t d = m->n_embd;
    const double t0 = rf__now(), cpu0 = c->t_cpu, gpu0 = c->t_gpu;
    int64_t t, i;
    rf_status s;

    for (t = 0; t < b->n; t++) {
        float *x = c->x + t * d;
        rf__mat_row(&m->tok_embd, b->tok[t], x);
        if (m->embed_scale != 1.0f)
            for (i = 0; i < d; i++) x[i] *= m->embed_scale;
    }
    if ((s = rf__sched_layers(c, b)) != RF_OK) return s;
    for (t = 0; t < b->n; t++) {
        b->seq[t]->tokens[b->pos[t]] = b->tok[t];
        b->seq[t]->pos = b->pos[t] + 1;
    }
    rf__logits(c, b);
    c->t_cpu = cpu0 + (rf__now() - t0) - (c->t_gpu - gpu0); /* moe_cpu's hook moved its share over */
    return RF_OK;
}

static rf_status rf__check_tokens(const rf_ctx *c, const int32_t *tokens, int32_t n) {
    int32_t i;
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->m->n_vocab)
            return rf__err(RF_ERR_INVALID_ARG, "token %d at index %d is outside the vocabulary (%lld)", tokens[i], i,
                           (long long)c->m->n_vocab);
    return RF_OK;
}

RF_API rf_status rf_ctx_decode(rf_ctx *c, const int32_t *tokens, int32_t n) {
    rf__batch b;
    rf_status s;
    int32_t i, t;
    if (!c || (!tokens && n > 0) || n < 0) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_decode: bad arguments");
    if (n > c->n_ctx - c->pos)
        return rf__err(RF_ERR_TOO_LARGE, "context full: %d tokens in the cache + %d new > context size %d",
                       c->pos, n, c->n_ctx);
    if ((s = rf__check_tokens(c, tokens, n)) != RF_OK) return s;
    if (rf__sched_whole_gpu(c)) { /* the whole forward pass on the GPU (hip.c) */
        const double t0 = rf__now();
        s = rf__hip_decode(c->gpu, tokens, n, c->pos, c->logits);
        c->t_gpu += rf__now() - t0;
        if (s == RF_OK) memcpy(c->tokens + c->pos, tokens, sizeof(int32_t) * (size_t)n), c->pos += n;
        return s;
    }
    if ((s = rf_ctx_reserve(c, c->pos + n)) != RF_OK) return s;
    for (i = 0; i < n; i += RF__BATCH) {
        b.n = RF__MIN(RF__BATCH, n - i);
        for (t = 0; t < b.n; t++) {
            b.seq[t] = c;
            b.tok[t] = tokens[i + t];
            b.pos[t] = c->pos + t;
            b.want[t] = i + t == n - 1;
        }
        if ((s = rf__forward(c, &b)) != RF_OK) return s;
    }
    return RF_OK;
}

RF_API rf_status rf_ctx_decode_batch(rf_ctx **ctxs, const int32_t *tokens, int32_t n) {
    rf__batch b;
    rf_ctx *c;
    rf_status s;
    int32_t i, j, t, any_gpu = 0;
    if (!ctxs || !tokens || n < 0) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_decode_batch: bad arguments");
    if (n == 0) return RF_OK;
    c = ctxs[0];
    for (i = 0; i < n; i++) {
        if (!ctxs[i] || ctxs[i]->m != ctxs[0]->m)
            return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_decode_batch: context %d is NULL or of another model", i);
        for (j = 0; j < i; j++)
            if (ctxs[j] == ctxs[i]) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_decode_batch: context %d twice", i);
        if (ctxs[i]->pos >= ctxs[i]->n_ctx)
            return rf__err(RF_ERR_TOO_LARGE, "context %d full: %d tokens in the cache", i, ctxs[i]->pos);
        if ((s = rf__check_tokens(ctxs[i], tokens + i, 1)) != RF_OK) return s;
        if (ctxs[i]->n_ctx > c->n_ctx) c = ctxs[i]; /* its attention scratch fits every row */
        any_gpu |= ctxs[i]->gpu != NULL;
    }
    if (any_gpu) { /* one by one (hip.c decodes one sequence; a GPU layer's cache is there) */
        for (i = 0; i < n; i++)
            if ((s = rf_ctx_decode(ctxs[i], tokens + i, 1)) != RF_OK) return s;
        return RF_OK;
    }
    for (i = 0; i < n; i++)
        if ((s = rf_ctx_reserve(ctxs[i], ctxs[i]->pos + 1)) != RF_OK) return s;
    if (n > 1 && c->n_logits_rows < RF__MIN(n, RF__BATCH)) {
        int64_t rows = RF__MIN(n, RF__BATCH);
        float *lr = (float *)RF_REALLOC(c->logits_rows, sizeof(float) * (size_t)(rows * c->m->n_vocab));
        if (!lr) return rf__err(RF_ERR_OOM, "rf_ctx_decode_batch: out of memory for %lld rows of logits", (long long)rows);
        c->logits_rows = lr;
        c->n_logits_rows = rows;
    }
    for (i = 0; i < n; i += RF__BATCH) {
        b.n = RF__MIN(RF__BATCH, n - i);
        for (t = 0; t < b.n; t++) {
            b.seq[t] = ctxs[i + t];
            b.tok[t] = tokens[i + t];
            b.pos[t] = ctxs[i + t]->pos;
            b.want[t] = 1;
        }
        if ((s = rf__forward(c, &b)) != RF_OK) return s;
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

/* Pages past the new end go back to the pool (a shared pool lends them to other contexts). */
RF_API rf_status rf_ctx_truncate(rf_ctx *c, int32_t pos) {
    if (!c || pos < 0) return rf__err(RF_ERR_INVALID_ARG, "rf_ctx_truncate: bad arguments");
    if (pos < c->pos) c->pos = pos;
    rf__kv_release(c, (c->pos + RF_KV_PAGE - 1) / RF_KV_PAGE); /* none held when the GPU runs it all */
    return RF_OK;
}
