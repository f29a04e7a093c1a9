/* cpu: the table of CPU kernels a context computes with. The scalar reference kernels of
   quant.c / quant_k.c fill it first; simd.c then overwrites the entries it has faster versions
   of for the instruction set the CPU reports at run time (simd_x86.c, simd_arm.c). The table is
   a value inside each rf_ctx -- there is no global "current ISA" -- so two contexts may use two
   paths (the tests compare them that way). */

/* Features the kernels care about, from cpuid / xgetbv (x86-64) or getauxval (aarch64). */
enum {
    RF__CPU_AVX2 = 1 << 0,
    RF__CPU_FMA = 1 << 1,
    RF__CPU_F16C = 1 << 2,
    RF__CPU_AVX512F = 1 << 3,
    RF__CPU_AVX512BW = 1 << 4,
    RF__CPU_AVX512VL = 1 << 5,
    RF__CPU_AVX512VNNI = 1 << 6,
    RF__CPU_AVXVNNI = 1 << 7,
    RF__CPU_NEON = 1 << 8,
    RF__CPU_DOTPROD = 1 << 9
};

static const char *const rf__cpu_feature_names[] = {"avx2", "fma", "f16c", "avx512f", "avx512bw",
                                                   "avx512vl", "avx512vnni", "avxvnni", "neon", "dotprod"};

/* One row of weights times four prepared activations: out[c] = dot(w, a + c * a_stride). A
   matmul over a batch of tokens calls it so a weight block is unpacked once for four tokens. */
typedef void (*rf__dot4_fn)(const void *w, const void *a, uint64_t a_stride, int64_t n, float out[4]);

/* What a gemv needs of its q8_0 activation besides the bytes: per block the scale and the sum of
   the codes. Computed once per matrix-vector product, not per chunk of rows (per chunk it was 8%
   of a decode). */
#define RF__GEMV_MAXB 1024 /* blocks: activations of up to 32768 elements */
typedef struct rf__gemv_side {
    int64_t nb;
    float da[RF__GEMV_MAXB];
    int32_t sum[RF__GEMV_MAXB];
} rf__gemv_side;

/* Rows 0..nr-1 of a matrix (row_bytes apart) times one prepared activation: y[r] = dot(row r, a).
   Decode's matrix-vector product; several rows per pass share the activation's loads. side: from
   gemv_side for this activation (NULL, or another length: one dot per row). */
typedef void (*rf__gemv_fn)(const void *w, uint64_t row_bytes, int64_t nr, const void *a, int64_t n, float *y,
                            const rf__gemv_side *side);
typedef void (*rf__gemv_side_fn)(const void *a, int64_t n, rf__gemv_side *side);

/* The packed int8 GEMM of prompt processing (simd_x86_mm.c explains the layout). Per scale group
   of `group` elements and token: the activation scale da, -zero * (sum of the codes), da * sum. */
typedef struct rf__gemm_side {
    float da;
    int32_t zs;
    float das;
} rf__gemm_side;

/* RF__GEMM_ROWS rows of n elements -> a panel: codes[16 n], s[16 per group], o[16 per group] (o:
   has_min only) */
#define RF__GEMM_ROWS 16
typedef void (*rf__gemm_pack_fn)(const uint8_t *w, uint64_t row_bytes, int64_t n, uint8_t *codes, float *s, float *o);
/* one token's activation row -> its n / group side terms */
typedef void (*rf__gemm_side_fn)(const uint8_t *a, int64_t n, int group, int zero, rf__gemm_side *out);
/* a panel times nt tokens (8, 4 or 1 by the entry): y[t * ldy + r] for r < RF__GEMM_ROWS */
typedef void (*rf__gemm_tile_fn)(const uint8_t *codes, const float *s, const float *o, int64_t ng,
                                 const uint8_t *const *at, const int32_t *goff, const rf__gemm_side *side, int64_t ss,
                                 float *y, int64_t ldy);

typedef struct rf__gemm_kernel {
    int group;   /* elements per scale group: 32 or 16 */
    int zero;    /* z: codes are unsigned, the weight is s * (code - z) - o */
    int has_min; /* o is used */
    rf__gemm_pack_fn pack;
    rf__gemm_side_fn side;
    rf__gemm_tile_fn tile[3]; /* 8, 4 and 1 tokens per tile */
} rf__gemm_kernel;

/* y += a * x for n values of x in f16 (attention: a probability times a cached V row) */
typedef void (*rf__axpy_fn)(float a, const void *x, float *y, int64_t n);

/* Attention over a run of np cached positions whose f16 rows lie `stride` bytes apart (one KV
   page): scores s[p] = scale * dot(q, k_p), and out += sum_p a[p] v_p, over hd values. */
typedef void (*rf__qk_fn)(float *s, const float *q, const void *k, uint64_t stride, int64_t np, int64_t hd, float scale);
typedef void (*rf__pv_fn)(float *out, const float *a, const void *v, uint64_t stride, int64_t np, int64_t hd);
/* in-place softmax over n values */
typedef void (*rf__softmax_fn)(float *x, int64_t n);

/* out = act(gate) * up over n values (out may be gate): the gated feed-forward's activation */
typedef void (*rf__glu_fn)(float *out, const float *gate, const float *up, int64_t n);

typedef struct rf__kernels {
    const char *name;                          /* "scalar", "avx2", "avx512-vnni", "neon", ... */
    unsigned features;                         /* RF__CPU_* bits of this CPU */
    rf__dot_fn dot[RF_TYPE_COUNT];             /* weight type -> dot with its vec_dot_type */
    rf__dot4_fn dot4[RF_TYPE_COUNT];           /* NULL: four calls of dot */
    rf__quant_fn quant[RF_TYPE_COUNT];         /* activation (and KV cache) quantizers */
    rf__dequant_fn dequant[RF_TYPE_COUNT];     /* KV cache rows back to f32 */
    rf__dot_fn dot_f32;                        /* f32 . f32: attention scores */
    rf__axpy_fn axpy_f16;                      /* y += a * x, x in f16: attention's weighted V sum */
    rf__glu_fn glu_silu, glu_gelu;             /* SwiGLU / GeGLU (tanh approximation) */
    rf__qk_fn qk_f16;                          /* attention scores from an f16 cache */
    rf__pv_fn pv_f16;                          /* attention's weighted V sum from an f16 cache */
    rf__softmax_fn softmax;
    rf__gemv_fn gemv[RF_TYPE_COUNT];           /* NULL: one dot per row */
    rf__gemv_side_fn gemv_side;                /* the q8_0 activation terms every gemv reads */
    rf__gemm_kernel gemm[RF_TYPE_COUNT];       /* pack == NULL: no packed GEMM for the type */
} rf__kernels;

static void rf__axpy_f16(float a, const void *x, float *y, int64_t n) {
    const uint8_t *h = (const uint8_t *)x;
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t v;
        memcpy(&v, h + 2 * i, 2);
        y[i] += a * rf_fp16_to_fp32(v);
    }
}

static float rf__silu(float x) { return x / (1.0f + expf(-x)); }

/* GELU, tanh approximation (what Gemma's gelu_pytorch_tanh computes). */
static float rf__gelu(float x) {
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

static void rf__glu_silu(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) out[i] = rf__silu(gate[i]) * up[i];
}

static void rf__glu_gelu(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) out[i] = rf__gelu(gate[i]) * up[i];
}

/* The scalar attention kernels compute exactly what rf__attend did before they existed: the
   double-summed f16 dot, then one float product by the scale; out[i] += a * v[i] in position
   order; softmax with a float exp and a double sum. */
static void rf__qk_f16(float *s, const float *q, const void *k, uint64_t stride, int64_t np, int64_t hd, float scale) {
    int64_t p;
    for (p = 0; p < np; p++) s[p] = (float)rf__dot_f16_f32((const uint8_t *)k + (uint64_t)p * stride, q, hd) * scale;
}

static void rf__pv_f16(float *out, const float *a, const void *v, uint64_t stride, int64_t np, int64_t hd) {
    int64_t p;
    for (p = 0; p < np; p++) rf__axpy_f16(a[p], (const uint8_t *)v + (uint64_t)p * stride, out, hd);
}

/* In-place softmax over n values (max subtracted first so exp never overflows). */
static void rf__softmax_ref(float *x, int64_t n) {
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

static void rf__kernels_scalar(rf__kernels *k, unsigned features) {
    int t;
    memset(k, 0, sizeof *k);
    k->name = "scalar";
    k->features = features;
    for (t = 0; t < RF_TYPE_COUNT; t++) {
        rf__quant_ops o;
        if (!rf__get_quant_ops((rf_type)t, &o)) continue;
        k->dot[t] = o.dot;
        k->quant[t] = o.quant;
        k->dequant[t] = o.dequant;
    }
    k->dot_f32 = rf__dot_f32_f32;
    k->axpy_f16 = rf__axpy_f16;
    k->glu_silu = rf__glu_silu;
    k->glu_gelu = rf__glu_gelu;
    k->qk_f16 = rf__qk_f16;
    k->pv_f16 = rf__pv_f16;
    k->softmax = rf__softmax_ref;
}

/* Whether any type has a packed GEMM (a context then allocates its scratch). */
static int rf__kernels_have_gemm(const rf__kernels *k) {
    int t;
    for (t = 0; t < RF_TYPE_COUNT; t++)
        if (k->gemm[t].pack) return 1;
    return 0;
}

/* out[c] = dot(w, a_c) for c < 4, through the table (dot4 when there is one). */
static void rf__kernels_dot4(const rf__kernels *k, rf_type t, const void *w, const void *a, uint64_t a_stride,
                             int64_t n, float out[4]) {
    int c;
    if (k->dot4[t]) {
        k->dot4[t](w, a, a_stride, n, out);
        return;
    }
    for (c = 0; c < 4; c++) out[c] = (float)k->dot[t](w, (const uint8_t *)a + (uint64_t)c * a_stride, n);
}
