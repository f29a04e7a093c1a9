/* CPU tensor ops. Each is one equation; the forward pass in forward.c reads as a list of them.
   A matrix product quantizes the activations once into the weight type's partner format (q8_0,
   q8_1, q8_K, or f32) and then takes one dot product per (row, token) through the context's
   kernel table (cpu.c): the scalar reference kernels, or the SIMD ones simd.c picked. */

/* A weight matrix as GGUF stores it: ne1 rows of ne0 contiguous elements of `type`. */
typedef struct rf__mat {
    const uint8_t *data;
    rf_type type;
    int64_t ne0, ne1;
    uint64_t row_bytes;
} rf__mat;

/* Bytes the activation of a matvec against `w` takes once quantized (0: it stays f32). */
static uint64_t rf__act_bytes(const rf__mat *w) {
    rf_type at = rf_type_get((uint32_t)w->type)->vec_dot_type;
    uint64_t b = 0;
    if (at == RF_TYPE_F32) return 0;
    rf_type_row_bytes(at, w->ne0, &b);
    return b;
}

/* Rows [n * ith / nth, n * (ith + 1) / nth) of a batch quantized into the activation format */
typedef struct rf__quant_job {
    const rf__kernels *k;
    rf_type at;
    const float *x;
    int64_t ldx, n, ne0;
    uint8_t *q;
    uint64_t ab;
} rf__quant_job;

static void rf__quant_task(void *arg, int ith, int nth) {
    const rf__quant_job *j = (const rf__quant_job *)arg;
    int64_t t;
    for (t = j->n * ith / nth; t < j->n * (ith + 1) / nth; t++) j->k->quant[j->at](j->x + t * j->ldx, j->q + (uint64_t)t * j->ab, j->ne0);
}

/* Activation rows as the weight type's kernel wants them: quantized into qbuf (stride *stride
   bytes per row), or the f32 rows themselves. A batch's rows are dealt over the pool's threads
   (pool NULL: this thread): serial, the quantization of a 128-token batch was ~2% of a prefill
   with the other thread waiting. */
static const void *rf__prepare_acts(rf__pool *pool, const rf__kernels *k, const rf__mat *w, const float *x, int64_t ldx,
                                    int64_t n, void *qbuf, uint64_t *stride) {
    rf__quant_job j;
    j.at = rf_type_get((uint32_t)w->type)->vec_dot_type;
    if (j.at == RF_TYPE_F32) {
        *stride = (uint64_t)ldx * 4;
        return x;
    }
    j.k = k;
    j.x = x;
    j.ldx = ldx;
    j.n = n;
    j.ne0 = w->ne0;
    j.q = (uint8_t *)qbuf;
    j.ab = rf__act_bytes(w);
    if (pool && n > 1)
        rf__pool_run(pool, rf__quant_task, &j);
    else
        rf__quant_task(&j, 0, 1);
    *stride = j.ab;
    return qbuf;
}

/* Scratch of the packed GEMM, owned by a context (NULL: no GEMM). For matrices of up to max_k
   columns: a panel per thread (8 rows of codes, then the s and o floats of each group), the side
   terms of a batch's tokens, and where each group's codes start in an activation row. */
typedef struct rf__gemm_scratch {
    int64_t max_k;
    uint64_t panel_bytes;
    uint8_t *panels;      /* [n_threads][panel_bytes] */
    rf__gemm_side *side;  /* [RF__MAX_TOKENS][max_k / 16] */
    int32_t *goff;        /* [max_k / 16] */
    int64_t max_tokens;
} rf__gemm_scratch;

#define RF__GEMM_MIN_TOKENS 4    /* fewer tokens: the dot / dot4 path (packing a panel costs ~a token) */
#define RF__GEMM_MAX_TOKENS 128  /* tokens one GEMM call takes (a forward pass's batch fits) */

static void rf__gemm_scratch_free(rf__gemm_scratch *g) {
    if (!g) return;
    RF_FREE(g->panels);
    RF_FREE(g->side);
    RF_FREE(g->goff);
    RF_FREE(g);
}

/* NULL when out of memory */
static rf__gemm_scratch *rf__gemm_scratch_new(int64_t max_k, int n_threads, int64_t max_tokens) {
    rf__gemm_scratch *g = RF__NEWZ(rf__gemm_scratch, 1);
    int64_t ng = (max_k + 15) / 16;
    if (!g) return NULL;
    g->max_k = max_k;
    g->max_tokens = max_tokens;
    g->panel_bytes = (uint64_t)(RF__GEMM_ROWS * max_k) + (uint64_t)(2 * RF__GEMM_ROWS * ng) * sizeof(float);
    g->panels = (uint8_t *)RF_MALLOC(g->panel_bytes * (uint64_t)n_threads);
    g->side = RF__NEW(rf__gemm_side, max_tokens * ng);
    g->goff = RF__NEW(int32_t, ng);
    if (!g->panels || !g->side || !g->goff) {
        rf__gemm_scratch_free(g);
        return NULL;
    }
    return g;
}

/* Y = X W^T over a batch: y[t][r] = dot(row r of w, activation t). Each thread takes a slice of
   the rows. Three ways, best first:
   - packed GEMM (>= RF__GEMM_MIN_TOKENS tokens, a type with a gemm kernel): a thread decodes 16
     rows at a time into a panel (32 KB of codes at n_embd 2048: it stays in L1/L2) and runs every
     token of the batch past it, 8 at a time;
   - gemv (one token): several rows per pass over the activation;
   - otherwise RF__ROW_BLOCK rows (~40 KB of Q4_0 at n_embd 2048) meet every activation, four
     tokens at a time (dot4 unpacks a weight block once for four).
   In each the weights come from memory once per batch instead of once per token -- what turns
   prompt processing from memory bound into compute bound. */
#define RF__ROW_BLOCK 32

#define RF__MATMUL_THREADS 64 /* more threads: fixed slices, no stealing */

/* Matrices one job may run over, their rows in one numbering: q, k and v (or gate and up) of a
   decode step share one activation, and one pool job instead of three saves two hand-offs
   between the threads (each a wait for the slower one) per layer. */
#define RF__MATMUL_PARTS 3

/* Bytes of weights a thread claims at a time. Every claim is an atomic add, and in a decode the
   claim after a gemv's last row waits for that row's loads to drain: with 32 KB chunks ~5% of a
   1B decode sat on the lock xadd (perf). 1B Q4_K_M tg64 -t 2, best of 5 alternated runs: 32 KB
   82.7, 64 KB 90.6, 128 KB 92.5, 256 KB 92.7, 512 KB 88.4 t/s (larger: more left to steal at the
   end of a matrix). */
#define RF__CHUNK_BYTES 131072

typedef struct rf__matmul_part {
    const rf__mat *w;
    float *y;
    int64_t chunk; /* rows per chunk (rf__matmul_task) */
    int64_t c0;    /* its first chunk in the job's numbering */
} rf__matmul_part;

typedef struct rf__matmul_job {
    const rf__kernels *k;
    const uint8_t *a;
    uint64_t a_stride;
    int64_t n, ldy;
    rf__gemm_scratch *g;
    rf__matmul_part part[RF__MATMUL_PARTS];
    int nparts;
    int64_t nc;                        /* chunks of all parts */
    const rf__gemv_side *gside;        /* the gemv's activation terms, or NULL */
    /* thread i's next chunk (atomic); its own end is the next one's start. One cache line each:
       packed, every chunk a thread took moved the line the others were counting on (perf: ~2% of
       a 1B decode in rf__matmul_task) */
    struct {
        int64_t next;
        char pad[64 - sizeof(int64_t)];
    } cursor[RF__MATMUL_THREADS];
    const uint8_t *at[RF__GEMM_MAX_TOKENS]; /* the GEMM's token rows */
} rf__matmul_job;

/* rows [r0, r1) of w x every token into y, through dot / dot4 */
static void rf__matmul_rows(const rf__matmul_job *j, const rf__mat *w, float *y, int64_t r0, int64_t r1) {
    const rf__dot_fn dot = j->k->dot[w->type];
    int64_t rb, r, t;
    for (rb = r0; rb < r1; rb += RF__ROW_BLOCK) {
        int64_t re = RF__MIN(rb + RF__ROW_BLOCK, r1);
        for (t = 0; t + 4 <= j->n; t += 4)
            for (r = rb; r < re; r++) {
                float o[4];
                rf__kernels_dot4(j->k, w->type, w->data + (uint64_t)r * w->row_bytes, j->a + (uint64_t)t * j->a_stride,
                                 j->a_stride, w->ne0, o);
                y[t * j->ldy + r] = o[0];
                y[(t + 1) * j->ldy + r] = o[1];
                y[(t + 2) * j->ldy + r] = o[2];
                y[(t + 3) * j->ldy + r] = o[3];
            }
        for (; t < j->n; t++)
            for (r = rb; r < re; r++)
                y[t * j->ldy + r] =
                    (float)dot(w->data + (uint64_t)r * w->row_bytes, j->a + (uint64_t)t * j->a_stride, w->ne0);
    }
}

/* Rows a thread computes: chunks of ~RF__CHUNK_BYTES (whole groups of 4 rows for the gemv), chunk c of the
   job's numbering (the parts' chunks one after the other). */
static void rf__matmul_chunk(const rf__matmul_job *j, int64_t c) {
    int p = 0;
    while (p + 1 < j->nparts && c >= j->part[p + 1].c0) p++;
    {
        const rf__matmul_part *q = &j->part[p];
        const rf__mat *w = q->w;
        const rf__gemv_fn gemv = j->n == 1 ? j->k->gemv[w->type] : NULL;
        const int64_t r0 = (c - q->c0) * q->chunk, r1 = RF__MIN(r0 + q->chunk, w->ne1);
        if (gemv)
            gemv(w->data + (uint64_t)r0 * w->row_bytes, w->row_bytes, r1 - r0, j->a, w->ne0, q->y + r0, j->gside);
        else
            rf__matmul_rows(j, w, q->y, r0, r1);
    }
}

/* Each thread owns a contiguous slice of chunks and walks it in order (one long stream for the
   hardware prefetcher); a thread done with its own takes the rest of the others' slices chunk by
   chunk. The threads of a memory-bound decode do not finish together: with fixed slices ~7% of a
   1B Q4_K decode was spent spinning for the slower one (perf). Handing out chunks round-robin
   instead halved the speed of the one-row kernels (short streams). Without atomics
   (RF__POOL_SPIN 0) or with many threads: fixed slices. */
static void rf__matmul_task(void *arg, int ith, int nth) {
    rf__matmul_job *j = (rf__matmul_job *)arg;
    const int64_t nc = j->nc;
#if RF__POOL_SPIN
    if (nth <= RF__MATMUL_THREADS) {
        int o;
        for (o = 0; o < nth; o++) {
            const int v = (ith + o) % nth;
            const int64_t end = nc * (v + 1) / nth;
            for (;;) {
                int64_t c = RF__FETCH_ADD(&j->cursor[v].next, 1);
                if (c >= end) break;
                rf__matmul_chunk(j, c);
            }
        }
        return;
    }
#endif
    {
        int64_t c;
        for (c = nc * ith / nth; c < nc * (ith + 1) / nth; c++) rf__matmul_chunk(j, c);
    }
}

static void rf__gemm_task(void *arg, int ith, int nth) {
    const rf__matmul_job *j = (const rf__matmul_job *)arg;
    const rf__mat *w = j->part[0].w;
    const rf__gemm_kernel *gk = &j->k->gemm[w->type];
    const int64_t R = RF__GEMM_ROWS, np = w->ne1 / R, p0 = np * ith / nth, p1 = np * (ith + 1) / nth;
    const int64_t ng = w->ne0 / gk->group;
    uint8_t *codes = j->g->panels + (uint64_t)ith * j->g->panel_bytes;
    float *s = (float *)(void *)(codes + R * w->ne0), *o = s + R * ng;
    const float *om = gk->has_min ? o : NULL;
    int64_t p, t;
    for (p = p0; p < p1; p++) {
        float *y = j->part[0].y + R * p;
        gk->pack(w->data + (uint64_t)(R * p) * w->row_bytes, w->row_bytes, w->ne0, codes, s, o);
        for (t = 0; t + 8 <= j->n; t += 8)
            gk->tile[0](codes, s, om, ng, j->at + t, j->g->goff, j->g->side + t * ng, ng, y + t * j->ldy, j->ldy);
        for (; t + 4 <= j->n; t += 4)
            gk->tile[1](codes, s, om, ng, j->at + t, j->g->goff, j->g->side + t * ng, ng, y + t * j->ldy, j->ldy);
        for (; t < j->n; t++)
            gk->tile[2](codes, s, om, ng, j->at + t, j->g->goff, j->g->side + t * ng, ng, y + t * j->ldy, j->ldy);
    }
    if (ith == nth - 1 && R * np < w->ne1) rf__matmul_rows(j, w, j->part[0].y, R * np, w->ne1); /* rows past the last panel */
}

/* The GEMM's per-token side terms and group offsets (the activation rows are q8_0 or q8_K). */
static void rf__gemm_prepare(rf__matmul_job *j) {
    const rf__mat *w = j->part[0].w;
    const rf__gemm_kernel *gk = &j->k->gemm[w->type];
    const int64_t ng = w->ne0 / gk->group;
    const int q8k = rf_type_get((uint32_t)w->type)->vec_dot_type == RF_TYPE_Q8_K;
    const int64_t be = q8k ? 256 : 32, bb = q8k ? 292 : 34, co = q8k ? 4 : 2;
    int64_t g, t;
    for (g = 0; g < ng; g++) {
        int64_t e = g * gk->group;
        j->g->goff[g] = (int32_t)(e / be * bb + co + e % be);
    }
    for (t = 0; t < j->n; t++) {
        j->at[t] = j->a + (uint64_t)t * j->a_stride;
        gk->side(j->at[t], w->ne0, gk->group, gk->zero, j->g->side + t * ng);
    }
}

/* Whether w x n tokens goes through the packed GEMM (rf__gemm_task) */
static int rf__matmul_gemm(const rf__kernels *k, const rf__mat *w, int64_t n, const rf__gemm_scratch *g) {
    return g && k->gemm[w->type].pack && n >= RF__GEMM_MIN_TOKENS && n <= RF__GEMM_MAX_TOKENS && n <= g->max_tokens &&
           w->ne0 <= g->max_k && w->ne1 >= RF__GEMM_ROWS;
}

/* y_i[t] = W_i x[t], i < np, for n rows of x into rows of y_i (stride ldy), as one pool job over
   the rows of all W_i (the GEMM: one job per matrix). `acts` are the rows as rf__prepare_acts made
   them for every W_i: the W_i share ne0 and the activation type. g: the context's GEMM scratch,
   or NULL. */
static void rf__matmul_parts(rf__pool *pool, const rf__kernels *k, const rf__mat *const *ws, float *const *ys, int np,
                             const void *acts, uint64_t a_stride, int64_t n, int64_t ldy, rf__gemm_scratch *g) {
    rf__matmul_job j;
    rf__gemv_side gs; /* ~8 KB */
    int i;
    j.k = k;
    j.a = (const uint8_t *)acts;
    j.a_stride = a_stride;
    j.n = n;
    j.ldy = ldy;
    j.g = g;
    j.gside = NULL;
    for (i = 0; i < np; i++)
        if (rf__matmul_gemm(k, ws[i], n, g)) {
            j.part[0].w = ws[i];
            j.part[0].y = ys[i];
            j.nparts = 1;
            rf__gemm_prepare(&j);
            rf__pool_run(pool, rf__gemm_task, &j);
            if (np > 1) { /* the other matrices on their own */
                rf__matmul_parts(pool, k, ws, ys, i, acts, a_stride, n, ldy, g);
                rf__matmul_parts(pool, k, ws + i + 1, ys + i + 1, np - i - 1, acts, a_stride, n, ldy, g);
            }
            return;
        }
    if (np <= 0) return;
    j.nparts = RF__MIN(np, RF__MATMUL_PARTS);
    j.nc = 0;
    for (i = 0; i < j.nparts; i++) {
        rf__matmul_part *q = &j.part[i];
        q->w = ws[i];
        q->y = ys[i];
        q->chunk = RF__MIN(RF__MAX((int64_t)(RF__CHUNK_BYTES / (q->w->row_bytes ? q->w->row_bytes : 1)), 4), 4096) & ~(int64_t)3;
        q->c0 = j.nc;
        j.nc += (q->w->ne1 + q->chunk - 1) / q->chunk;
    }
    {
        int nth = pool->n;
        for (i = 0; i < nth && i < RF__MATMUL_THREADS; i++) j.cursor[i].next = j.nc * i / nth;
    }
    /* only q8_0 activations have side terms (q8_K carries its own sums) */
    for (i = 0; i < j.nparts && !k->gemv[ws[i]->type]; i++) {}
    if (n == 1 && i < j.nparts && k->gemv_side && rf_type_get((uint32_t)ws[0]->type)->vec_dot_type == RF_TYPE_Q8_0) {
        k->gemv_side(acts, ws[0]->ne0, &gs);
        j.gside = &gs;
    }
    rf__pool_run(pool, rf__matmul_task, &j);
    if (np > RF__MATMUL_PARTS)
        rf__matmul_parts(pool, k, ws + RF__MATMUL_PARTS, ys + RF__MATMUL_PARTS, np - RF__MATMUL_PARTS, acts, a_stride, n, ldy, g);
}

/* y[t] = W x[t] for n rows of x (row stride ldx floats) into rows of y (stride ldy). `acts` are
   the rows as rf__prepare_acts made them for w (so one quantization serves q, k and v). g: the
   context's GEMM scratch, or NULL. */
static void rf__matmul_prepared(rf__pool *pool, const rf__kernels *k, const rf__mat *w, const void *acts,
                                uint64_t a_stride, int64_t n, float *y, int64_t ldy, rf__gemm_scratch *g) {
    rf__matmul_parts(pool, k, &w, &y, 1, acts, a_stride, n, ldy, g);
}

/* y = W x for one vector, rows split over the pool's threads. qbuf holds rf__act_bytes(w). */
static void rf__matvec(rf__pool *pool, const rf__kernels *k, const rf__mat *w, const float *x, float *y, void *qbuf) {
    uint64_t stride;
    const void *a = rf__prepare_acts(NULL, k, w, x, w->ne0, 1, qbuf, &stride);
    rf__matmul_prepared(pool, k, w, a, stride, 1, y, w->ne1, NULL);
}

/* Row `row` of a matrix as floats (embedding lookup). */
static void rf__mat_row(const rf__mat *w, int64_t row, float *out) {
    rf_dequantize(w->type, w->data + (uint64_t)row * w->row_bytes, out, w->ne0);
}

/* RMSNorm: out = x / sqrt(mean(x^2) + eps) * w (w may be NULL: no gain). Sum in double: the
   mean of thousands of squares loses digits in float. */
static void rf__rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps) {
    double ss = 0;
    float scale;
    int64_t i;
    for (i = 0; i < n; i++) ss += (double)x[i] * x[i];
    scale = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (i = 0; i < n; i++) out[i] = x[i] * scale * (w ? w[i] : 1.0f);
}

/* Rotary position embedding on n_heads vectors of head_dim at v and n_heads2 more at v2 (q and k
   share one position: the angles are computed once), the first n_rot dims of each.
   Pair i rotates by pos * theta_i with theta_i = freq_scale * base^(-2i/n_rot) / factor_i, and
   (for YaRN) the rotation is scaled by mscale. Normal RoPE pairs (2i, 2i+1); NeoX pairs
   (i, i + n_rot/2). */
static void rf__rope(float *v, int64_t n_heads, float *v2, int64_t n_heads2, int64_t head_dim, int64_t n_rot,
                     int32_t pos, float base, float freq_scale, const float *freq_factors, float mscale, int neox) {
    int64_t h, i, half = n_rot / 2;
    for (i = 0; i < half; i++) {
        double theta = (double)pos * freq_scale * pow((double)base, -2.0 * (double)i / (double)n_rot);
        float c, s;
        if (freq_factors) theta /= freq_factors[i];
        c = (float)cos(theta) * mscale;
        s = (float)sin(theta) * mscale;
        for (h = 0; h < n_heads + n_heads2; h++) {
            float *p = h < n_heads ? v + h * head_dim : v2 + (h - n_heads) * head_dim;
            int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
            float x0 = p[i0], x1 = p[i1];
            p[i0] = x0 * c - x1 * s;
            p[i1] = x0 * s + x1 * c;
        }
    }
}

/* In-place softmax over n values: the scalar reference kernel (cpu.c). */
static void rf__softmax(float *x, int64_t n) { rf__softmax_ref(x, n); }

static void rf__add(float *y, const float *x, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) y[i] += x[i];
}
