/* CPU tensor ops, scalar. Each is one equation; the forward pass in forward.c reads as a list of
   them. The matrix-vector product quantizes the activation once into the weight type's partner
   format (q8_0, q8_1, q8_K, or f32) and then takes one rf_vec_dot per row, so every quant type
   works through the same code and the scalar reference kernels are what runs. */

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

/* y[r0..r1) = rows r0..r1 of w times the prepared activation a (quantized, or x itself). */
static void rf__matvec_rows(const rf__mat *w, const void *a, float *y, int64_t r0, int64_t r1) {
    int64_t r;
    for (r = r0; r < r1; r++) rf_vec_dot(w->type, w->ne0, w->data + (uint64_t)r * w->row_bytes, a, &y[r]);
}

typedef struct rf__matvec_job {
    const rf__mat *w;
    const void *a;
    float *y;
} rf__matvec_job;

static void rf__matvec_task(void *arg, int ith, int nth) {
    const rf__matvec_job *j = (const rf__matvec_job *)arg;
    rf__matvec_rows(j->w, j->a, j->y, j->w->ne1 * ith / nth, j->w->ne1 * (ith + 1) / nth);
}

/* y = W x, rows split over the pool's threads. qbuf holds at least rf__act_bytes(w) bytes. */
static void rf__matvec(rf__pool *pool, const rf__mat *w, const float *x, float *y, void *qbuf) {
    rf_type at = rf_type_get((uint32_t)w->type)->vec_dot_type;
    rf__matvec_job j;
    j.w = w;
    j.a = x;
    j.y = y;
    if (at != RF_TYPE_F32) {
        rf_quantize(at, x, qbuf, w->ne0);
        j.a = qbuf;
    }
    rf__pool_run(pool, rf__matvec_task, &j);
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
   Pair i rotates by pos * theta_i with theta_i = freq_scale * base^(-2i/n_rot) / factor_i.
   Normal RoPE pairs (2i, 2i+1); NeoX pairs (i, i + n_rot/2). */
static void rf__rope(float *v, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos, float base,
                     float freq_scale, const float *freq_factors, int neox) {
    int64_t h, i, half = n_rot / 2;
    for (i = 0; i < half; i++) {
        double theta = (double)pos * freq_scale * pow((double)base, -2.0 * (double)i / (double)n_rot);
        float c, s;
        if (freq_factors) theta /= freq_factors[i];
        c = (float)cos(theta);
        s = (float)sin(theta);
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
