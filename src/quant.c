/* quant: scalar reference kernels for the plain types (F32, F16, BF16), the legacy 32-element
   blocks (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1), IQ4_NL and MXFP4. quant_k.c holds the 256-element
   K-quants and IQ4_XS, and the public dispatch.

   Block layouts are ggml's (the GGUF tensor formats). Dequantization does its arithmetic in
   float, in the same order as gguf-py's numpy dequantizers (gguf/quants.py), so the results are
   bit-identical to `gguf.quants.dequantize` (tests/test_quant_ref.py checks every type).
   The quantizers are our own: simple, deterministic, and never produce NaN or inf for finite
   input (scales that would overflow fp16 saturate at 65504; NaN elements quantize to 0).

   Every kernel reads and writes blocks through memcpy into a local struct, so rows may sit at
   any address (a GGUF tensor row of an odd-sized type need not be aligned). The dot products
   sum integers inside a block and accumulate the scaled block sums in double: they are the
   reference that SIMD and GPU kernels are tested against, so they favour clarity over speed. */

/* Bit-exactness needs every float multiply and add rounded on its own: no fused multiply-add.
   GCC does not contract in ISO C/C++ modes; clang may when the target has FMA, so say it. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ---------------------------------------------------------------------------------------------
   fp16 and bf16 conversion (IEEE 754 binary16; bfloat16 = the top half of a binary32) */

static float rf__bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t rf__f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

RF_API float rf_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1f) return rf__bits_f32(sign | 0x7f800000u | (mant << 13)); /* inf, NaN (payload kept) */
    if (exp != 0) return rf__bits_f32(sign | ((exp + 112) << 23) | (mant << 13)); /* rebias 15 -> 127 */
    if (mant == 0) return rf__bits_f32(sign);                                   /* +-0 */
    /* subnormal: mant * 2^-24, exact in binary32 (mant < 2^10, 2^-24 is a power of two) */
    return rf__bits_f32(sign | rf__f32_bits((float)mant * 5.9604644775390625e-8f));
}

RF_API uint16_t rf_fp32_to_fp16(float f) {
    uint32_t x = rf__f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu)); /* quiet NaN */
    /* 65520 = 0x477ff000 is halfway between 65504 (max half, odd mantissa) and 2^16: ties to
       even round it up, so everything from there on (inf included) becomes inf. */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* >= 2^-14: a normal half. Round the 13 dropped bits to nearest
                                even; a carry out of the mantissa correctly bumps the exponent. */
        uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);
        return (uint16_t)(sign | ((r - 0x38000000u) >> 13)); /* rebias 127 -> 15 */
    }
    if (ax <= 0x33000000u) return sign; /* <= 2^-25: half of the smallest subnormal, ties to 0 */
    {   /* subnormal half: value / 2^-24 = m * 2^(e - 126), rounded to nearest even */
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* e in [102, 112] here, so shift in [14, 24] */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++; /* q may reach 0x400: the smallest normal */
        return (uint16_t)(sign | q);
    }
}

RF_API float rf_bf16_to_fp32(uint16_t h) { return rf__bits_f32((uint32_t)h << 16); }

RF_API uint16_t rf_fp32_to_bf16(float f) {
    uint32_t x = rf__f32_bits(f);
    /* NaN: keep sign and top payload, force the quiet bit (as ggml and gguf-py do) */
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    /* round to nearest even; x <= 0xff800000 here, so the addition cannot wrap */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* ---------------------------------------------------------------------------------------------
   Helpers shared by the quantizers (here and in quant_k.c) */

/* A block scale stored as fp16. Saturates at +-65504 so that huge inputs give large finite
   values rather than inf * 0 = NaN on the way back; NaN gives 0. */
static uint16_t rf__fp16_scale(double s) {
    if (!(s == s)) return 0;
    if (s > 65504.0) s = 65504.0;
    if (s < -65504.0) s = -65504.0;
    return rf_fp32_to_fp16((float)s);
}

/* Nearest integer (halves away from zero), clamped to [lo, hi] before any conversion to int, so
   an out-of-range or NaN value never reaches the (undefined) float-to-int cast. NaN gives the
   value in [lo, hi] nearest 0. */
static int rf__round_clamp(double v, int lo, int hi) {
    if (!(v == v)) v = 0.0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int)(v < 0 ? -floor(-v + 0.5) : floor(v + 0.5));
}

/* The element of largest magnitude, with its sign (0 for an all-zero or all-NaN block). */
static double rf__signed_absmax(const float *x, int n) {
    double m = 0.0;
    int i;
    for (i = 0; i < n; i++)
        if (fabs((double)x[i]) > fabs(m)) m = (double)x[i];
    return m;
}

/* The fits below assume finite input: quantizers that use them first pass each block through
   this (NaN -> 0, +-inf -> +-FLT_MAX; the scale then saturates). */
static void rf__sanitize(const float *x, float *out, int n) {
    int i;
    for (i = 0; i < n; i++)
        out[i] = x[i] != x[i] ? 0.0f : x[i] > FLT_MAX ? FLT_MAX : x[i] < -FLT_MAX ? -FLT_MAX : x[i];
}

/* Fit x ~ s * q with integer q in [-nneg, nneg - 1] (Q3_K, Q6_K): try scales that map the
   largest element to the negative end or to the positive end of the range, shrunk a little
   at a time (clipping an outlier can lower the total error), each followed by a least-squares
   refit of s for the chosen q. Returns the s of least squared error; 0 for a zero block. */
static double rf__fit_symmetric(const float *x, int n, int nneg) {
    double m = rf__signed_absmax(x, n), best_s = 0.0, best_err = HUGE_VAL;
    int side, k, i;
    if (m == 0.0) return 0.0;
    for (side = 0; side < 2; side++) {
        for (k = 0; k < 12; k++) {
            double end = side == 0 ? -(double)nneg : (double)(nneg - 1);
            double s = m / (end * (1.0 - 0.03 * k)), sqx = 0.0, sqq = 0.0, err = 0.0;
            for (i = 0; i < n; i++) {
                int q = rf__round_clamp((double)x[i] / s, -nneg, nneg - 1);
                sqx += (double)q * x[i];
                sqq += (double)q * q;
            }
            if (sqq > 0.0 && sqx != 0.0) s = sqx / sqq; /* least-squares s for these q */
            for (i = 0; i < n; i++) {
                int q = rf__round_clamp((double)x[i] / s, -nneg, nneg - 1);
                double e = s * q - x[i];
                err += e * e;
            }
            if (err < best_err) best_err = err, best_s = s;
        }
    }
    return best_s;
}

/* Fit x ~ s * q - o with integer q in [0, nmax], s >= 0 and o >= 0 (Q2_K, Q4_K, Q5_K: the
   K-quant minimum is subtracted and stored unsigned, so the range always reaches down to 0 or
   below). Starts from the min/max range, tries narrower ranges, and refits (s, o) by least
   squares for each assignment of q. */
static void rf__fit_affine(const float *x, int n, int nmax, double *scale, double *offset) {
    double lo = 0.0, hi = 0.0, best_err = HUGE_VAL;
    int i, k;
    for (i = 0; i < n; i++) {
        if ((double)x[i] < lo) lo = x[i];
        if ((double)x[i] > hi) hi = x[i];
    }
    *scale = 0.0;
    *offset = -lo;
    if (!(hi - lo > 0.0)) return;
    for (k = 0; k < 12; k++) {
        double s = (hi - lo) / (nmax * (1.0 + 0.04 * k)), o = -lo;
        double sq = 0, sx = 0, sqq = 0, sqx = 0, det, err = 0.0;
        for (i = 0; i < n; i++) {
            int q = rf__round_clamp(((double)x[i] + o) / s, 0, nmax);
            sq += q, sx += x[i], sqq += (double)q * q, sqx += (double)q * x[i];
        }
        det = n * sqq - sq * sq;
        if (det > 0.0) { /* regression of x on q: x ~ s q + b, o = -b */
            double s2 = (n * sqx - sq * sx) / det, b = (sx - s2 * sq) / n;
            if (b > 0.0) b = 0.0, s2 = sqq > 0.0 ? sqx / sqq : s2; /* keep o >= 0 */
            if (s2 > 0.0) s = s2, o = -b;
        }
        for (i = 0; i < n; i++) {
            int q = rf__round_clamp(((double)x[i] + o) / s, 0, nmax);
            double e = s * q - o - x[i];
            err += e * e;
        }
        if (err < best_err) best_err = err, *scale = s, *offset = o;
    }
}

/* Pack 32 4-bit values the way every 32-element ggml block stores them: byte j holds element j
   in its low nibble and element j + 16 in its high nibble. */
static void rf__pack_nibbles32(const uint8_t q[32], uint8_t qs[16]) {
    int j;
    for (j = 0; j < 16; j++) qs[j] = (uint8_t)((q[j] & 15u) | ((q[j + 16] & 15u) << 4));
}

/* Element j (0..31) of a 16-byte nibble array in that layout. */
static int rf__nibble32(const uint8_t qs[16], int j) { return j < 16 ? qs[j] & 15 : qs[j - 16] >> 4; }

/* ---------------------------------------------------------------------------------------------
   Block layouts. All fp16 fields are uint16_t bit patterns. */

/* q4_0, 18 bytes: fp16 d; qs[16] nibbles (low: elements 0..15, high: 16..31). w = (q - 8) * d */
typedef struct { uint16_t d; uint8_t qs[16]; } rf__block_q4_0;
/* q4_1, 20 bytes: fp16 d, fp16 m; qs[16] nibbles as q4_0. w = q * d + m */
typedef struct { uint16_t d, m; uint8_t qs[16]; } rf__block_q4_1;
/* q5_0, 22 bytes: fp16 d; qh = bit i is the 5th bit of element i (a little-endian uint32,
   kept as bytes so the struct has no padding); qs[16] low nibbles as q4_0. w = (q - 16) * d */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } rf__block_q5_0;
/* q5_1, 24 bytes: fp16 d, fp16 m; qh[4]; qs[16], as q5_0. w = q * d + m */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } rf__block_q5_1;
/* q8_0, 34 bytes: fp16 d; int8 qs[32]. w = q * d */
typedef struct { uint16_t d; int8_t qs[32]; } rf__block_q8_0;
/* q8_1, 36 bytes: fp16 d; fp16 s = d * sum(qs) (lets a dot with an offset format use one
   multiply for the offset term); int8 qs[32]. w = q * d. ggml's layout; gguf-py's size table
   still says 40 (an old float d, float s layout). */
typedef struct { uint16_t d, s; int8_t qs[32]; } rf__block_q8_1;
/* iq4_nl, 18 bytes: fp16 d; qs[16] nibbles as q4_0, each an index into rf__kvalues_iq4.
   w = d * kvalues[q] */
typedef struct { uint16_t d; uint8_t qs[16]; } rf__block_iq4_nl;
/* mxfp4 (OCP microscaling), 17 bytes: e = E8M0 shared exponent; qs[16] E2M1 nibbles as q4_0.
   w = 2^(e - 127) * e2m1(q) = 2^(e - 128) * rf__kvalues_mxfp4[q] (the table holds 2x the
   E2M1 values so it is integral) */
typedef struct { uint8_t e; uint8_t qs[16]; } rf__block_mxfp4;

RF__STATIC_ASSERT(sizeof(rf__block_q4_0) == 18, "q4_0 block is 18 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q4_1) == 20, "q4_1 block is 20 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q5_0) == 22, "q5_0 block is 22 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q5_1) == 24, "q5_1 block is 24 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q8_0) == 34, "q8_0 block is 34 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q8_1) == 36, "q8_1 block is 36 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_iq4_nl) == 18, "iq4_nl block is 18 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_mxfp4) == 17, "mxfp4 block is 17 bytes");

/* The IQ4_NL / IQ4_XS non-linear code book (ggml's kvalues_iq4nl; also in gguf-py). */
static const int8_t rf__kvalues_iq4[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                           1,    13,   25,  38,  53,  69,  89,  113};
/* E2M1 values times two: 0 0.5 1 1.5 2 3 4 6 and their negatives (OCP MX spec v1.0). */
static const int8_t rf__kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* Read block i of a row / write block i of a row (any alignment). */
#define RF__GET_BLOCK(b, src, i) memcpy(&(b), (const uint8_t *)(src) + (size_t)(i) * sizeof(b), sizeof(b))
#define RF__PUT_BLOCK(dst, i, b) memcpy((uint8_t *)(dst) + (size_t)(i) * sizeof(b), &(b), sizeof(b))

/* ---------------------------------------------------------------------------------------------
   F32, F16, BF16 rows */

static void rf__dequant_f32(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }
static void rf__quant_f32(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }

static void rf__dequant_f16(const void *src, float *dst, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)src + 2 * i, 2);
        dst[i] = rf_fp16_to_fp32(h);
    }
}
static void rf__quant_f16(const float *src, void *dst, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t h = rf_fp32_to_fp16(src[i]);
        memcpy((uint8_t *)dst + 2 * i, &h, 2);
    }
}
static void rf__dequant_bf16(const void *src, float *dst, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)src + 2 * i, 2);
        dst[i] = rf_bf16_to_fp32(h);
    }
}
static void rf__quant_bf16(const float *src, void *dst, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t h = rf_fp32_to_bf16(src[i]);
        memcpy((uint8_t *)dst + 2 * i, &h, 2);
    }
}

/* w (F32, F16 or BF16) . a (F32), accumulated in double. */
static double rf__dot_f32_f32(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        float wi, ai;
        memcpy(&wi, (const uint8_t *)w + 4 * i, 4);
        memcpy(&ai, (const uint8_t *)a + 4 * i, 4);
        acc += (double)wi * ai;
    }
    return acc;
}
static double rf__dot_f16_f32(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t h;
        float ai;
        memcpy(&h, (const uint8_t *)w + 2 * i, 2);
        memcpy(&ai, (const uint8_t *)a + 4 * i, 4);
        acc += (double)rf_fp16_to_fp32(h) * ai;
    }
    return acc;
}
static double rf__dot_bf16_f32(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t h;
        float ai;
        memcpy(&h, (const uint8_t *)w + 2 * i, 2);
        memcpy(&ai, (const uint8_t *)a + 4 * i, 4);
        acc += (double)rf_bf16_to_fp32(h) * ai;
    }
    return acc;
}

/* ---------------------------------------------------------------------------------------------
   Q4_0, Q5_0: symmetric, the element of largest magnitude maps to the most negative code */

static void rf__dequant_q4_0(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q4_0 b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (j = 0; j < 32; j++) dst[i * 32 + j] = d * (float)(rf__nibble32(b.qs, j) - 8);
    }
}

static void rf__quant_q4_0(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        const float *x = src + i * 32;
        rf__block_q4_0 b;
        uint8_t q[32];
        float d;
        b.d = rf__fp16_scale(rf__signed_absmax(x, 32) / -8.0); /* max maps to code 0 = -8 */
        d = rf_fp16_to_fp32(b.d);
        for (j = 0; j < 32; j++) q[j] = (uint8_t)(d != 0.0f ? rf__round_clamp((double)x[j] / d, -8, 7) + 8 : 8);
        rf__pack_nibbles32(q, b.qs);
        RF__PUT_BLOCK(dst, i, b);
    }
}

static void rf__dequant_q5_0(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q5_0 b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (j = 0; j < 32; j++) {
            int q = rf__nibble32(b.qs, j) | (((b.qh[j / 8] >> (j % 8)) & 1) << 4);
            dst[i * 32 + j] = d * (float)(q - 16);
        }
    }
}

static void rf__quant_q5_0(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        const float *x = src + i * 32;
        rf__block_q5_0 b;
        uint8_t q[32];
        float d;
        b.d = rf__fp16_scale(rf__signed_absmax(x, 32) / -16.0);
        d = rf_fp16_to_fp32(b.d);
        memset(b.qh, 0, sizeof b.qh);
        for (j = 0; j < 32; j++) {
            q[j] = (uint8_t)(d != 0.0f ? rf__round_clamp((double)x[j] / d, -16, 15) + 16 : 16);
            b.qh[j / 8] = (uint8_t)(b.qh[j / 8] | ((q[j] >> 4) << (j % 8)));
        }
        rf__pack_nibbles32(q, b.qs);
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Q4_1, Q5_1: min/max; w = q * d + m, m the block minimum */

static void rf__dequant_q4_1(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q4_1 b;
        float d, m;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d), m = rf_fp16_to_fp32(b.m);
        for (j = 0; j < 32; j++) dst[i * 32 + j] = d * (float)rf__nibble32(b.qs, j) + m;
    }
}

static void rf__dequant_q5_1(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q5_1 b;
        float d, m;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d), m = rf_fp16_to_fp32(b.m);
        for (j = 0; j < 32; j++) {
            int q = rf__nibble32(b.qs, j) | (((b.qh[j / 8] >> (j % 8)) & 1) << 4);
            dst[i * 32 + j] = d * (float)q + m;
        }
    }
}

/* Shared by q4_1 (nmax 15) and q5_1 (nmax 31): d = (max - min) / nmax, m = min, each rounded
   to fp16; the codes are then chosen against the rounded values. */
static void rf__quant_minmax32(const float *x, int nmax, uint16_t *dh, uint16_t *mh, uint8_t q[32]) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    float d, m;
    int j;
    for (j = 0; j < 32; j++) {
        if ((double)x[j] < lo) lo = x[j];
        if ((double)x[j] > hi) hi = x[j];
    }
    if (!(lo <= hi)) lo = hi = 0.0; /* all NaN */
    *dh = rf__fp16_scale((hi - lo) / nmax);
    *mh = rf__fp16_scale(lo);
    d = rf_fp16_to_fp32(*dh), m = rf_fp16_to_fp32(*mh);
    for (j = 0; j < 32; j++)
        q[j] = (uint8_t)(d != 0.0f ? rf__round_clamp(((double)x[j] - m) / d, 0, nmax) : 0);
}

static void rf__quant_q4_1(const float *src, void *dst, int64_t n) {
    int64_t i;
    for (i = 0; i < n / 32; i++) {
        rf__block_q4_1 b;
        uint8_t q[32];
        rf__quant_minmax32(src + i * 32, 15, &b.d, &b.m, q);
        rf__pack_nibbles32(q, b.qs);
        RF__PUT_BLOCK(dst, i, b);
    }
}

static void rf__quant_q5_1(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q5_1 b;
        uint8_t q[32];
        rf__quant_minmax32(src + i * 32, 31, &b.d, &b.m, q);
        memset(b.qh, 0, sizeof b.qh);
        for (j = 0; j < 32; j++) b.qh[j / 8] = (uint8_t)(b.qh[j / 8] | ((q[j] >> 4) << (j % 8)));
        rf__pack_nibbles32(q, b.qs);
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Q8_0, Q8_1: absmax / 127 */

static void rf__dequant_q8_0(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q8_0 b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (j = 0; j < 32; j++) dst[i * 32 + j] = (float)b.qs[j] * d;
    }
}

static void rf__dequant_q8_1(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q8_1 b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (j = 0; j < 32; j++) dst[i * 32 + j] = (float)b.qs[j] * d; /* s is redundant here */
    }
}

/* 32 int8 codes for x against absmax / 127 rounded to fp16; returns the fp16 scale. */
static uint16_t rf__quant_absmax32(const float *x, int8_t qs[32]) {
    uint16_t dh = rf__fp16_scale(fabs(rf__signed_absmax(x, 32)) / 127.0);
    float d = rf_fp16_to_fp32(dh);
    int j;
    for (j = 0; j < 32; j++) qs[j] = (int8_t)(d != 0.0f ? rf__round_clamp((double)x[j] / d, -127, 127) : 0);
    return dh;
}

static void rf__quant_q8_0(const float *src, void *dst, int64_t n) {
    int64_t i;
    for (i = 0; i < n / 32; i++) {
        rf__block_q8_0 b;
        b.d = rf__quant_absmax32(src + i * 32, b.qs);
        RF__PUT_BLOCK(dst, i, b);
    }
}

static void rf__quant_q8_1(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j, sum;
    for (i = 0; i < n / 32; i++) {
        rf__block_q8_1 b;
        b.d = rf__quant_absmax32(src + i * 32, b.qs);
        for (sum = 0, j = 0; j < 32; j++) sum += b.qs[j];
        /* s from the stored (rounded) d, so s matches what dequantize gives: sum(w) */
        b.s = rf__fp16_scale((double)(rf_fp16_to_fp32(b.d) * (float)sum));
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   IQ4_NL: a fp16 scale times a non-linear 16-entry code book */

/* Index of the code-book entry nearest v (ties to the lower index; the table is ascending). */
static int rf__nearest_iq4(double v) {
    int k, best = 0;
    double best_e = HUGE_VAL;
    /* beyond the ends first: for a huge v every |v - k| rounds to the same double */
    if (v <= -127.0) return 0;
    if (v >= 113.0) return 15;
    for (k = 0; k < 16; k++) {
        double e = fabs(v - rf__kvalues_iq4[k]);
        if (e < best_e) best_e = e, best = k;
    }
    return best;
}

/* Best scale s for x ~ s * kvalues[q] (n elements; IQ4_NL blocks and IQ4_XS sub-blocks). Tries
   the largest element against either end of the code book (-127 or 113), shrinking a little at
   a time, with a least-squares refit for each assignment. If round16, the error is measured with
   s rounded to fp16, as IQ4_NL stores it. Returns 0 for a zero block. */
static double rf__fit_iq4(const float *x, int n, int round16) {
    double m = rf__signed_absmax(x, n), best_s = 0.0, best_err = HUGE_VAL;
    int side, k, i;
    if (m == 0.0) return 0.0;
    for (side = 0; side < 2; side++) {
        for (k = 0; k < 16; k++) {
            double end = side == 0 ? -127.0 : 113.0, s = m / (end * (1.0 - 0.02 * k));
            double sqx = 0.0, sqq = 0.0, err = 0.0;
            for (i = 0; i < n; i++) {
                double v = rf__kvalues_iq4[rf__nearest_iq4((double)x[i] / s)];
                sqx += v * x[i], sqq += v * v;
            }
            if (sqq > 0.0 && sqx != 0.0) s = sqx / sqq;
            if (round16) s = rf_fp16_to_fp32(rf__fp16_scale(s));
            if (s == 0.0) continue;
            for (i = 0; i < n; i++) {
                double e = s * rf__kvalues_iq4[rf__nearest_iq4((double)x[i] / s)] - x[i];
                err += e * e;
            }
            if (err < best_err) best_err = err, best_s = s;
        }
    }
    return best_s;
}

static void rf__dequant_iq4_nl(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_iq4_nl b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (j = 0; j < 32; j++) dst[i * 32 + j] = d * (float)rf__kvalues_iq4[rf__nibble32(b.qs, j)];
    }
}

static void rf__quant_iq4_nl(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_iq4_nl b;
        uint8_t q[32];
        float x[32], d;
        rf__sanitize(src + i * 32, x, 32);
        b.d = rf__fp16_scale(rf__fit_iq4(x, 32, 1));
        d = rf_fp16_to_fp32(b.d);
        for (j = 0; j < 32; j++) q[j] = (uint8_t)(d != 0.0f ? rf__nearest_iq4((double)x[j] / d) : 8);
        rf__pack_nibbles32(q, b.qs);
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   MXFP4: an E8M0 power-of-two scale times E2M1 (4-bit float) values */

/* 2^(e - 128): half the E8M0 scale, to go with the doubled E2M1 table. e = 0 and 1 give the
   binary32 subnormals 2^-128 and 2^-127; e = 255 (NaN in the OCP spec) is read as 2^127, as
   ggml and gguf-py do. Built from bits, so it is exact. */
static float rf__e8m0_half(uint8_t e) {
    return rf__bits_f32(e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23);
}

static int rf__nearest_mxfp4(double v) {
    int k, best = 0;
    double best_e = HUGE_VAL;
    if (v >= 12.0) return 7; /* the ends, as in rf__nearest_iq4 */
    if (v <= -12.0) return 15;
    for (k = 0; k < 16; k++) {
        double e = fabs(v - rf__kvalues_mxfp4[k]);
        if (e < best_e) best_e = e, best = k;
    }
    return best;
}

static void rf__dequant_mxfp4(const void *src, float *dst, int64_t n) {
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_mxfp4 b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf__e8m0_half(b.e);
        for (j = 0; j < 32; j++) dst[i * 32 + j] = d * (float)rf__kvalues_mxfp4[rf__nibble32(b.qs, j)];
    }
}

/* The exponent puts the block maximum near the top of the E2M1 range (6 = 12 / 2): with
   amax = f * 2^p, f in [0.5, 1), try e - 127 = p - 3 (amax / scale in [4, 8): may clip at 6)
   and p - 2 (in [2, 4): no clipping, coarser steps) and keep the one of lower squared error. */
static void rf__quant_mxfp4(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j, t;
    for (i = 0; i < n / 32; i++) {
        float x[32];
        double amax, best_err = HUGE_VAL;
        rf__block_mxfp4 b;
        uint8_t q[32];
        int p = 0;
        rf__sanitize(src + i * 32, x, 32);
        amax = fabs(rf__signed_absmax(x, 32));
        memset(&b, 0, sizeof b);
        memset(q, 0, sizeof q); /* always overwritten at t == 0; gcc -O3 cannot tell */
        if (amax > 0.0) frexp(amax, &p);
        for (t = 0; t < 2; t++) {
            int e = amax > 0.0 ? p - 3 + t + 127 : 0;
            double err = 0.0, d;
            uint8_t qt[32];
            /* 12 * 2^(e - 128) must stay below FLT_MAX = 2^128 (1 - 2^-24): e <= 252 */
            e = e < 0 ? 0 : e > 252 ? 252 : e;
            d = rf__e8m0_half((uint8_t)e);
            for (j = 0; j < 32; j++) {
                double r;
                qt[j] = (uint8_t)rf__nearest_mxfp4((double)x[j] / d);
                r = d * rf__kvalues_mxfp4[qt[j]] - x[j];
                err += r * r;
            }
            if (err < best_err || t == 0) best_err = err, b.e = (uint8_t)e, memcpy(q, qt, 32);
        }
        rf__pack_nibbles32(q, b.qs);
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Dot products against q8_0 / q8_1 activations: integer sums inside a block, then the scales.
   Code ranges bound the block sums: |q| <= 128 and |a| <= 128 over 32 elements fit easily. */

static double rf__dot_q4_0_q8_0(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q4_0 x;
        rf__block_q8_0 y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) isum += (rf__nibble32(x.qs, j) - 8) * y.qs[j];
        acc += (double)rf_fp16_to_fp32(x.d) * rf_fp16_to_fp32(y.d) * isum;
    }
    return acc;
}

static double rf__dot_q5_0_q8_0(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q5_0 x;
        rf__block_q8_0 y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) {
            int q = rf__nibble32(x.qs, j) | (((x.qh[j / 8] >> (j % 8)) & 1) << 4);
            isum += (q - 16) * y.qs[j];
        }
        acc += (double)rf_fp16_to_fp32(x.d) * rf_fp16_to_fp32(y.d) * isum;
    }
    return acc;
}

static double rf__dot_q8_0_q8_0(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q8_0 x, y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) isum += x.qs[j] * y.qs[j];
        acc += (double)rf_fp16_to_fp32(x.d) * rf_fp16_to_fp32(y.d) * isum;
    }
    return acc;
}

static double rf__dot_iq4_nl_q8_0(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_iq4_nl x;
        rf__block_q8_0 y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) isum += rf__kvalues_iq4[rf__nibble32(x.qs, j)] * y.qs[j];
        acc += (double)rf_fp16_to_fp32(x.d) * rf_fp16_to_fp32(y.d) * isum;
    }
    return acc;
}

static double rf__dot_mxfp4_q8_0(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_mxfp4 x;
        rf__block_q8_0 y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) isum += rf__kvalues_mxfp4[rf__nibble32(x.qs, j)] * y.qs[j];
        acc += (double)rf__e8m0_half(x.e) * rf_fp16_to_fp32(y.d) * isum;
    }
    return acc;
}

/* w = d_w q + m_w and a = d_a r give sum(w a) = d_w d_a sum(q r) + m_w (d_a sum(r)), and the
   q8_1 block carries s = d_a sum(r), so the offset costs one multiply per block. */
static double rf__dot_q4_1_q8_1(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q4_1 x;
        rf__block_q8_1 y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) isum += rf__nibble32(x.qs, j) * y.qs[j];
        acc += (double)rf_fp16_to_fp32(x.d) * rf_fp16_to_fp32(y.d) * isum +
               (double)rf_fp16_to_fp32(x.m) * rf_fp16_to_fp32(y.s);
    }
    return acc;
}

static double rf__dot_q5_1_q8_1(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q5_1 x;
        rf__block_q8_1 y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) {
            int q = rf__nibble32(x.qs, j) | (((x.qh[j / 8] >> (j % 8)) & 1) << 4);
            isum += q * y.qs[j];
        }
        acc += (double)rf_fp16_to_fp32(x.d) * rf_fp16_to_fp32(y.d) * isum +
               (double)rf_fp16_to_fp32(x.m) * rf_fp16_to_fp32(y.s);
    }
    return acc;
}

/* q8_1 weights have no offset: their s is not needed. */
static double rf__dot_q8_1_q8_1(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j;
    for (i = 0; i < n / 32; i++) {
        rf__block_q8_1 x, y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 32; j++) isum += x.qs[j] * y.qs[j];
        acc += (double)rf_fp16_to_fp32(x.d) * rf_fp16_to_fp32(y.d) * isum;
    }
    return acc;
}
