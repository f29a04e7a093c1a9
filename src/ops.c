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

/* Activation rows as the weight type's kernel wants them: quantized into qbuf (stride *stride
   bytes per row), or the f32 rows themselves. */
static const void *rf__prepare_acts(const rf__kernels *k, const rf__mat *w, const float *x, int64_t ldx, int64_t n,
                                    void *qbuf, uint64_t *stride) {
    rf_type at = rf_type_get((uint32_t)w->type)->vec_dot_type;
    uint64_t ab = rf__act_bytes(w);
    int64_t t;
    if (at == RF_TYPE_F32) {
        *stride = (uint64_t)ldx * 4;
        return x;
    }
    for (t = 0; t < n; t++) k->quant[at](x + t * ldx, (uint8_t *)qbuf + (uint64_t)t * ab, w->ne0);
    *stride = ab;
    return qbuf;
}

/* Y = X W^T over a batch: y[t][r] = dot(row r of w, activation t). Each thread takes a slice of
   the rows. Within it, RF__ROW_BLOCK rows (~40 KB of Q4_0 at n_embd 2048: they stay in L1/L2)
   meet every activation, four tokens at a time (dot4 unpacks a weight block once for four);
   so weights come from memory once per batch instead of once per token -- what turns prompt
   processing from memory bound into compute bound. */
#define RF__ROW_BLOCK 32

typedef struct rf__matmul_job {
    const rf__kernels *k;
    const rf__mat *w;
    const uint8_t *a;
    uint64_t a_stride;
    int64_t n, ldy;
    float *y;
} rf__matmul_job;

static void rf__matmul_task(void *arg, int ith, int nth) {
    const rf__matmul_job *j = (const rf__matmul_job *)arg;
    const rf__mat *w = j->w;
    const int64_t r0 = w->ne1 * ith / nth, r1 = w->ne1 * (ith + 1) / nth;
    const rf__dot_fn dot = j->k->dot[w->type];
    int64_t rb, r, t;
    for (rb = r0; rb < r1; rb += RF__ROW_BLOCK) {
        int64_t re = RF__MIN(rb + RF__ROW_BLOCK, r1);
        for (t = 0; t + 4 <= j->n; t += 4)
            for (r = rb; r < re; r++) {
                float o[4];
                rf__kernels_dot4(j->k, w->type, w->data + (uint64_t)r * w->row_bytes, j->a + (uint64_t)t * j->a_stride,
                                 j->a_stride, w->ne0, o);
                j->y[t * j->ldy + r] = o[0];
                j->y[(t + 1) * j->ldy + r] = o[1];
                j->y[(t + 2) * j->ldy + r] = o[2];
                j->y[(t + 3) * j->ldy + r] = o[3];
            }
        for (; t < j->n; t++)
            for (r = rb; r < re; r++)
                j->y[t * j->ldy + r] =
                    (float)dot(w->data + (uint64_t)r * w->row_bytes, j->a + (uint64_t)t * j->a_stride, w->ne0);
    }
}

/* y[t] = W x[t] for n rows of x (row stride ldx floats) into rows of y (stride ldy). `acts` are
   the rows as rf__prepare_acts made them for w (so one quantization serves q, k and v). */
static void rf__matmul_prepared(rf__pool *pool, const rf__kernels *k, const rf__mat *w, const void *acts,
                                uint64_t a_stride, int64_t n, float *y, int64_t ldy) {
    rf__matmul_job j;
    j.k = k;
    j.w = w;
    j.a = (const uint8_t *)acts;
    j.a_stride = a_stride;
    j.n = n;
    j.y = y;
    j.ldy = ldy;
    rf__pool_run(pool, rf__matmul_task, &j);
}

/* y = W x for one vector, rows split over the pool's threads. qbuf holds rf__act_bytes(w). */
static void rf__matvec(rf__pool *pool, const rf__kernels *k, const rf__mat *w, const float *x, float *y, void *qbuf) {
    uint64_t stride;
    const void *a = rf__prepare_acts(k, w, x, w->ne0, 1, qbuf, &stride);
    rf__matmul_prepared(pool, k, w, a, stride, 1, y, w->ne1);
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

/* Rotary position embedding on n_heads vectors of head_dim, the first n_rot dims of each.
   Pair i rotates by pos * theta_i with theta_i = freq_scale * base^(-2i/n_rot) / factor_i, and
   (for YaRN) the rotation is scaled by mscale. Normal RoPE pairs (2i, 2i+1); NeoX pairs
   (i, i + n_rot/2). */
static void rf__rope(float *v, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos, float base,
                     float freq_scale, const float *freq_factors, float mscale, int neox) {
    int64_t h, i, half = n_rot / 2;
    for (i = 0; i < half; i++) {
        double theta = (double)pos * freq_scale * pow((double)base, -2.0 * (double)i / (double)n_rot);
        float c, s;
        if (freq_factors) theta /= freq_factors[i];
        c = (float)cos(theta) * mscale;
        s = (float)sin(theta) * mscale;
        for (h = 0; h < n_heads; h++) {
            float *p = v + h * head_dim;
            int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
            float x0 = p[i0], x1 = p[i1];
            p[i0] = x0 * c - x1 * s;
            p[i1] = x0 * s + x1 * c;
        }
    }
}

/* In-place softmax over n values (max subtracted first so exp never overflows). */
static void rf__softmax(float *x, int64_t n) {
    float mx = -INFINITY;
    double sum = 0;
    int64_t i;
    for (i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    for (i = 0; i < n; i++) x[i] = (float)(x[i] / sum);
}

static float rf__silu(float x) { return x / (1.0f + expf(-x)); }

/* GELU, tanh approximation (what Gemma's gelu_pytorch_tanh computes). */
static float rf__gelu(float x) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

static void rf__add(float *y, const float *x, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) y[i] += x[i];
}
