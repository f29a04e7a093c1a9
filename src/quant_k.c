/* quant_k: the 256-element super-block formats (Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K, IQ4_XS) and the
   public rf_dequantize / rf_quantize / rf_vec_dot dispatch over every type (quant.c too).

   A super-block holds 256 weights in sub-blocks of 16 or 32, each with a small integer scale
   (and for Q2_K/Q4_K/Q5_K a small integer minimum) that multiplies one fp16 super-block scale.
   Dequantization follows gguf-py's numpy order exactly (first d * sc, then * q, then - dmin * m)
   so the results are bit-identical. Dot products pair these weights with Q8_K activations, whose
   bsums (sums of 16 codes) make the minimum term one integer multiply per sub-block. */

/* q2_K, 84 bytes: scales[16] = 4-bit scale (low) and 4-bit min (high) of each 16-element
   sub-block; qs[64] 2-bit codes: element 128h + 32s + k (h < 2, s < 4, k < 32) is bits 2s..2s+1
   of qs[32h + k]; fp16 d, dmin. w = d * sc * q - dmin * m */
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; } rf__block_q2_K;
/* q3_K, 110 bytes: hmask[32]: element 32b + k has its high bit in bit b of hmask[k]; qs[64]
   low 2 bits, placed as q2_K; scales[12] 16 6-bit scales (low nibbles in bytes 0..7: scale j < 8
   in the low nibble of byte j, j >= 8 in the high nibble of byte j - 8; high 2 bits of scale j in
   byte 8 + j % 4 at bit 2 * (j / 4)), stored + 32; fp16 d. w = d * (sc - 32) * q where
   q = low2 - 4 when the hmask bit is clear, low2 when set (so q is in [-4, 3]) */
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } rf__block_q3_K;
/* q4_K, 144 bytes: fp16 d, dmin; scales[12] 8 6-bit scales and 8 6-bit mins (packed as
   rf__get_scale_min_k4 reads them); qs[128]: sub-block j (32 elements) is the low (j even) or
   high (j odd) nibbles of qs[32 (j / 2) .. + 31]. w = d * sc * q - dmin * m */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } rf__block_q4_K;
/* q5_K, 176 bytes: as q4_K plus qh[32]: the 5th bit of element k of sub-block j is bit j of
   qh[k]. w = d * sc * q - dmin * m, q in [0, 31] */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } rf__block_q5_K;
/* q6_K, 210 bytes: ql[128], qh[64], int8 scales[16] (one per 16 elements), fp16 d. Element
   e = 128h + r: low 4 bits are nibble r / 64 of ql[64h + r % 64], high 2 bits are bits
   2 (r / 32) .. +1 of qh[32h + r % 32]. w = d * sc * (q - 32) */
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } rf__block_q6_K;
/* q8_K, 292 bytes: float d; int8 qs[256]; int16 bsums[16] = sums of qs over each 16 elements.
   w = d * q. Used for activations against the K-quants. */
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } rf__block_q8_K;
/* iq4_xs, 136 bytes: fp16 d; scales_h: 2 high bits of sub-block j's 6-bit scale at bits 2j;
   scales_l[4]: low nibbles, sub-block j in nibble j % 2 of byte j / 2; qs[128]: sub-block j
   (32 elements) is qs[16j .. 16j + 15], low nibbles elements 0..15, high 16..31, each an index
   into rf__kvalues_iq4. w = d * (sc - 32) * kvalues[q] */
typedef struct { uint16_t d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; } rf__block_iq4_xs;

RF__STATIC_ASSERT(sizeof(rf__block_q2_K) == 84, "q2_K block is 84 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q3_K) == 110, "q3_K block is 110 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q4_K) == 144, "q4_K block is 144 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q5_K) == 176, "q5_K block is 176 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q6_K) == 210, "q6_K block is 210 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_q8_K) == 292, "q8_K block is 292 bytes");
RF__STATIC_ASSERT(sizeof(rf__block_iq4_xs) == 136, "iq4_xs block is 136 bytes");

/* ---------------------------------------------------------------------------------------------
   Code placement helpers */

/* q2_K and q3_K low bits: element e of 256 -> byte 32 (e / 128) + e % 32, shift 2 ((e / 32) % 4) */
static int rf__q2_get(const uint8_t qs[64], int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3; }
static void rf__q2_put(uint8_t qs[64], int e, int v) {
    qs[32 * (e / 128) + e % 32] = (uint8_t)(qs[32 * (e / 128) + e % 32] | ((v & 3) << (2 * ((e / 32) % 4))));
}

/* q4_K / q5_K low nibbles: element e (sub-block e / 32) -> byte 32 (e / 64) + e % 32, high
   nibble for odd sub-blocks */
static int rf__q4k_get(const uint8_t qs[128], int e) { return (qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 15; }
static void rf__q4k_put(uint8_t qs[128], int e, int v) {
    qs[32 * (e / 64) + e % 32] = (uint8_t)(qs[32 * (e / 64) + e % 32] | ((v & 15) << (4 * ((e / 32) % 2))));
}

/* 6-bit scale and min j (< 8) of a q4_K / q5_K block: bytes 0..3 hold scales 0..3 (low 6 bits)
   and the top 2 bits of scales 4..7; bytes 4..7 the same for the mins; bytes 8..11 the low
   nibbles of scales 4..7 (low) and mins 4..7 (high). */
static void rf__get_scale_min_k4(const uint8_t s[12], int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}
static void rf__put_scale_min_k4(uint8_t s[12], const int sc[8], const int m[8]) {
    int j;
    for (j = 0; j < 4; j++) {
        s[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = (uint8_t)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
    }
}

/* q3_K scale j (< 16), already minus 32 */
static int rf__q3k_scale(const uint8_t s[12], int j) {
    int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4, hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

/* q6_K code of element e, in [-32, 31] */
static int rf__q6k_get(const rf__block_q6_K *b, int e) {
    int h = e / 128, r = e % 128;
    int lo = (b->ql[64 * h + r % 64] >> (4 * (r / 64))) & 15, hi = (b->qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
    return (lo | (hi << 4)) - 32;
}

/* iq4_xs scale of sub-block j (< 8), already minus 32 */
static int rf__iq4xs_scale(const rf__block_iq4_xs *b, int j) {
    return (((b->scales_l[j / 2] >> (4 * (j % 2))) & 15) | (((b->scales_h >> (2 * j)) & 3) << 4)) - 32;
}

/* Super-block scale for signed sub-block scales s[0..n) stored as integers in [-lim, lim - 1]:
   the sub-scale of largest magnitude maps to -lim. Writes the integers; returns the fp16 scale. */
static uint16_t rf__quant_signed_scales(const double *s, int n, int lim, int *ls) {
    double m = 0.0;
    uint16_t dh;
    float d;
    int j;
    for (j = 0; j < n; j++)
        if (fabs(s[j]) > fabs(m)) m = s[j];
    dh = rf__fp16_scale(m / -lim);
    d = rf_fp16_to_fp32(dh);
    for (j = 0; j < n; j++) ls[j] = d != 0.0f ? rf__round_clamp(s[j] / d, -lim, lim - 1) : 0;
    return dh;
}

/* Super-block scale for non-negative sub-block values v[0..n) stored in [0, lim]. */
static uint16_t rf__quant_unsigned_scales(const double *v, int n, int lim, int *lv) {
    double m = 0.0;
    uint16_t dh;
    float d;
    int j;
    for (j = 0; j < n; j++)
        if (v[j] > m) m = v[j];
    dh = rf__fp16_scale(m / lim);
    d = rf_fp16_to_fp32(dh);
    for (j = 0; j < n; j++) lv[j] = d != 0.0f ? rf__round_clamp(v[j] / d, 0, lim) : 0;
    return dh;
}

/* ---------------------------------------------------------------------------------------------
   Q2_K */

static void rf__dequant_q2_K(const void *src, float *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q2_K b;
        float d, dmin;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d), dmin = rf_fp16_to_fp32(b.dmin);
        for (e = 0; e < 256; e++) {
            float dl = d * (float)(b.scales[e / 16] & 15), ml = dmin * (float)(b.scales[e / 16] >> 4);
            dst[i * 256 + e] = dl * (float)rf__q2_get(b.qs, e) - ml;
        }
    }
}

static void rf__quant_q2_K(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q2_K b;
        float x[256];
        double sc[16], mn[16];
        int ls[16], lm[16];
        rf__sanitize(src + i * 256, x, 256);
        for (j = 0; j < 16; j++) rf__fit_affine(x + 16 * j, 16, 3, &sc[j], &mn[j]);
        memset(&b, 0, sizeof b);
        b.d = rf__quant_unsigned_scales(sc, 16, 15, ls);
        b.dmin = rf__quant_unsigned_scales(mn, 16, 15, lm);
        for (j = 0; j < 16; j++) b.scales[j] = (uint8_t)(ls[j] | (lm[j] << 4));
        for (e = 0; e < 256; e++) { /* codes against the stored scales, computed as dequant does */
            float dl = rf_fp16_to_fp32(b.d) * (float)ls[e / 16], ml = rf_fp16_to_fp32(b.dmin) * (float)lm[e / 16];
            rf__q2_put(b.qs, e, dl != 0.0f ? rf__round_clamp(((double)x[e] + ml) / dl, 0, 3) : 0);
        }
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Q3_K */

static void rf__dequant_q3_K(const void *src, float *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q3_K b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (e = 0; e < 256; e++) {
            float dl = d * (float)rf__q3k_scale(b.scales, e / 16);
            int q = rf__q2_get(b.qs, e) - ((b.hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
            dst[i * 256 + e] = dl * (float)q;
        }
    }
}

static void rf__quant_q3_K(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q3_K b;
        float x[256];
        double s[16];
        int ls[16];
        rf__sanitize(src + i * 256, x, 256);
        for (j = 0; j < 16; j++) s[j] = rf__fit_symmetric(x + 16 * j, 16, 4);
        memset(&b, 0, sizeof b);
        b.d = rf__quant_signed_scales(s, 16, 32, ls);
        for (j = 0; j < 16; j++) {
            int u = ls[j] + 32; /* 6 bits */
            b.scales[j % 8] = (uint8_t)(b.scales[j % 8] | ((u & 15) << (4 * (j / 8))));
            b.scales[8 + j % 4] = (uint8_t)(b.scales[8 + j % 4] | ((u >> 4) << (2 * (j / 4))));
        }
        for (e = 0; e < 256; e++) {
            float dl = rf_fp16_to_fp32(b.d) * (float)ls[e / 16];
            int u = (dl != 0.0f ? rf__round_clamp((double)x[e] / dl, -4, 3) : 0) + 4; /* 3 bits */
            rf__q2_put(b.qs, e, u & 3);
            b.hmask[e % 32] = (uint8_t)(b.hmask[e % 32] | ((u >> 2) << (e / 32)));
        }
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Q4_K, Q5_K */

static void rf__dequant_q4_K(const void *src, float *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q4_K b;
        float d, dmin;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d), dmin = rf_fp16_to_fp32(b.dmin);
        for (e = 0; e < 256; e++) {
            int sc, m;
            float dl, ml;
            rf__get_scale_min_k4(b.scales, e / 32, &sc, &m);
            dl = d * (float)sc, ml = dmin * (float)m;
            dst[i * 256 + e] = dl * (float)rf__q4k_get(b.qs, e) - ml;
        }
    }
}

static void rf__dequant_q5_K(const void *src, float *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q5_K b;
        float d, dmin;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d), dmin = rf_fp16_to_fp32(b.dmin);
        for (e = 0; e < 256; e++) {
            int sc, m, q = rf__q4k_get(b.qs, e) | (((b.qh[e % 32] >> (e / 32)) & 1) << 4);
            float dl, ml;
            rf__get_scale_min_k4(b.scales, e / 32, &sc, &m);
            dl = d * (float)sc, ml = dmin * (float)m;
            dst[i * 256 + e] = dl * (float)q - ml;
        }
    }
}

/* Shared by q4_K (nmax 15) and q5_K (nmax 31): per-sub-block affine fits, 6-bit scales and
   mins, then the codes q[256] against the stored values. */
static void rf__quant_k4(const float *x, int nmax, uint16_t *dh, uint16_t *dminh, uint8_t scales[12], uint8_t q[256]) {
    double sc[8], mn[8];
    int ls[8], lm[8], j, e;
    for (j = 0; j < 8; j++) rf__fit_affine(x + 32 * j, 32, nmax, &sc[j], &mn[j]);
    *dh = rf__quant_unsigned_scales(sc, 8, 63, ls);
    *dminh = rf__quant_unsigned_scales(mn, 8, 63, lm);
    rf__put_scale_min_k4(scales, ls, lm);
    for (e = 0; e < 256; e++) {
        float dl = rf_fp16_to_fp32(*dh) * (float)ls[e / 32], ml = rf_fp16_to_fp32(*dminh) * (float)lm[e / 32];
        q[e] = (uint8_t)(dl != 0.0f ? rf__round_clamp(((double)x[e] + ml) / dl, 0, nmax) : 0);
    }
}

static void rf__quant_q4_K(const float *src, void *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q4_K b;
        float x[256];
        uint8_t q[256];
        rf__sanitize(src + i * 256, x, 256);
        memset(&b, 0, sizeof b);
        rf__quant_k4(x, 15, &b.d, &b.dmin, b.scales, q);
        for (e = 0; e < 256; e++) rf__q4k_put(b.qs, e, q[e]);
        RF__PUT_BLOCK(dst, i, b);
    }
}

static void rf__quant_q5_K(const float *src, void *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q5_K b;
        float x[256];
        uint8_t q[256];
        rf__sanitize(src + i * 256, x, 256);
        memset(&b, 0, sizeof b);
        rf__quant_k4(x, 31, &b.d, &b.dmin, b.scales, q);
        for (e = 0; e < 256; e++) {
            rf__q4k_put(b.qs, e, q[e] & 15);
            b.qh[e % 32] = (uint8_t)(b.qh[e % 32] | ((q[e] >> 4) << (e / 32)));
        }
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Q6_K */

static void rf__dequant_q6_K(const void *src, float *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q6_K b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (e = 0; e < 256; e++) {
            float dl = d * (float)b.scales[e / 16];
            dst[i * 256 + e] = dl * (float)rf__q6k_get(&b, e);
        }
    }
}

static void rf__quant_q6_K(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q6_K b;
        float x[256];
        double s[16];
        int ls[16];
        rf__sanitize(src + i * 256, x, 256);
        for (j = 0; j < 16; j++) s[j] = rf__fit_symmetric(x + 16 * j, 16, 32);
        memset(&b, 0, sizeof b);
        /* int8 sub-scales: [-128, 127] */
        b.d = rf__quant_signed_scales(s, 16, 128, ls);
        for (j = 0; j < 16; j++) b.scales[j] = (int8_t)ls[j];
        for (e = 0; e < 256; e++) {
            float dl = rf_fp16_to_fp32(b.d) * (float)ls[e / 16];
            int u = (dl != 0.0f ? rf__round_clamp((double)x[e] / dl, -32, 31) : 0) + 32; /* 6 bits */
            int h = e / 128, r = e % 128;
            b.ql[64 * h + r % 64] = (uint8_t)(b.ql[64 * h + r % 64] | ((u & 15) << (4 * (r / 64))));
            b.qh[32 * h + r % 32] = (uint8_t)(b.qh[32 * h + r % 32] | ((u >> 4) << (2 * (r / 32))));
        }
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Q8_K: absmax / 127 with a float scale (no fp16 rounding), plus the 16-element sums */

static void rf__dequant_q8_K(const void *src, float *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q8_K b;
        RF__GET_BLOCK(b, src, i);
        for (e = 0; e < 256; e++) dst[i * 256 + e] = b.d * (float)b.qs[e];
    }
}

static void rf__quant_q8_K(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q8_K b;
        float x[256];
        rf__sanitize(src + i * 256, x, 256);
        memset(&b, 0, sizeof b);
        b.d = (float)(fabs(rf__signed_absmax(x, 256)) / 127.0); /* may underflow to 0: all codes 0 */
        while (b.d * 127.0f > FLT_MAX) b.d = nextafterf(b.d, 0.0f); /* so d * 127 cannot round to inf */
        /* divide rather than multiply by 1/d: 1/d overflows for subnormal d */
        for (e = 0; e < 256; e++) b.qs[e] = (int8_t)(b.d != 0.0f ? rf__round_clamp((double)x[e] / b.d, -127, 127) : 0);
        for (j = 0; j < 16; j++) {
            int sum = 0;
            for (e = 16 * j; e < 16 * j + 16; e++) sum += b.qs[e];
            b.bsums[j] = (int16_t)sum; /* |sum| <= 16 * 127 */
        }
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   IQ4_XS: IQ4_NL's code book with a 6-bit signed scale per 32 elements */

static void rf__dequant_iq4_xs(const void *src, float *dst, int64_t n) {
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_iq4_xs b;
        float d;
        RF__GET_BLOCK(b, src, i);
        d = rf_fp16_to_fp32(b.d);
        for (e = 0; e < 256; e++) {
            float dl = d * (float)rf__iq4xs_scale(&b, e / 32);
            dst[i * 256 + e] = dl * (float)rf__kvalues_iq4[rf__nibble32(b.qs + 16 * (e / 32), e % 32)];
        }
    }
}

static void rf__quant_iq4_xs(const float *src, void *dst, int64_t n) {
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_iq4_xs b;
        float x[256];
        double s[8];
        int ls[8];
        uint8_t q[256];
        rf__sanitize(src + i * 256, x, 256);
        for (j = 0; j < 8; j++) s[j] = rf__fit_iq4(x + 32 * j, 32, 0);
        memset(&b, 0, sizeof b);
        b.d = rf__quant_signed_scales(s, 8, 32, ls);
        for (j = 0; j < 8; j++) {
            int u = ls[j] + 32; /* 6 bits */
            b.scales_l[j / 2] = (uint8_t)(b.scales_l[j / 2] | ((u & 15) << (4 * (j % 2))));
            b.scales_h = (uint16_t)(b.scales_h | ((u >> 4) << (2 * j)));
        }
        for (e = 0; e < 256; e++) {
            float dl = rf_fp16_to_fp32(b.d) * (float)ls[e / 32];
            q[e] = (uint8_t)(dl != 0.0f ? rf__nearest_iq4((double)x[e] / dl) : 8);
        }
        for (j = 0; j < 8; j++) rf__pack_nibbles32(q + 32 * j, b.qs + 16 * j);
        RF__PUT_BLOCK(dst, i, b);
    }
}

/* ---------------------------------------------------------------------------------------------
   Dot products against q8_K. Bounds on the int sums (|a| <= 128 to allow any producer's q8_K):
   q6_K: 16 * |sc| 128 * |q| 32 * 128 * 16 sub-blocks = 2^27; every other type is smaller. */

static double rf__dot_q2_K_q8_K(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q2_K x;
        rf__block_q8_K y;
        int isum = 0, imin = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 16; j++) {
            int s = 0;
            for (e = 16 * j; e < 16 * j + 16; e++) s += rf__q2_get(x.qs, e) * y.qs[e];
            isum += (x.scales[j] & 15) * s;
            imin += (x.scales[j] >> 4) * y.bsums[j]; /* sum over the sub-block of m * a */
        }
        acc += (double)y.d * ((double)rf_fp16_to_fp32(x.d) * isum - (double)rf_fp16_to_fp32(x.dmin) * imin);
    }
    return acc;
}

static double rf__dot_q3_K_q8_K(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q3_K x;
        rf__block_q8_K y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 16; j++) {
            int s = 0;
            for (e = 16 * j; e < 16 * j + 16; e++) {
                int q = rf__q2_get(x.qs, e) - ((x.hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
                s += q * y.qs[e];
            }
            isum += rf__q3k_scale(x.scales, j) * s;
        }
        acc += (double)y.d * rf_fp16_to_fp32(x.d) * isum;
    }
    return acc;
}

static double rf__dot_q4_K_q8_K(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q4_K x;
        rf__block_q8_K y;
        int isum = 0, imin = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 8; j++) {
            int sc, m, s = 0;
            rf__get_scale_min_k4(x.scales, j, &sc, &m);
            for (e = 32 * j; e < 32 * j + 32; e++) s += rf__q4k_get(x.qs, e) * y.qs[e];
            isum += sc * s;
            imin += m * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
        }
        acc += (double)y.d * ((double)rf_fp16_to_fp32(x.d) * isum - (double)rf_fp16_to_fp32(x.dmin) * imin);
    }
    return acc;
}

static double rf__dot_q5_K_q8_K(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q5_K x;
        rf__block_q8_K y;
        int isum = 0, imin = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 8; j++) {
            int sc, m, s = 0;
            rf__get_scale_min_k4(x.scales, j, &sc, &m);
            for (e = 32 * j; e < 32 * j + 32; e++)
                s += (rf__q4k_get(x.qs, e) | (((x.qh[e % 32] >> j) & 1) << 4)) * y.qs[e];
            isum += sc * s;
            imin += m * (y.bsums[2 * j] + y.bsums[2 * j + 1]);
        }
        acc += (double)y.d * ((double)rf_fp16_to_fp32(x.d) * isum - (double)rf_fp16_to_fp32(x.dmin) * imin);
    }
    return acc;
}

static double rf__dot_q6_K_q8_K(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q6_K x;
        rf__block_q8_K y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 16; j++) {
            int s = 0;
            for (e = 16 * j; e < 16 * j + 16; e++) s += rf__q6k_get(&x, e) * y.qs[e];
            isum += x.scales[j] * s;
        }
        acc += (double)y.d * rf_fp16_to_fp32(x.d) * isum;
    }
    return acc;
}

static double rf__dot_q8_K_q8_K(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int e;
    for (i = 0; i < n / 256; i++) {
        rf__block_q8_K x, y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (e = 0; e < 256; e++) isum += x.qs[e] * y.qs[e];
        acc += (double)x.d * y.d * isum;
    }
    return acc;
}

static double rf__dot_iq4_xs_q8_K(const void *w, const void *a, int64_t n) {
    double acc = 0.0;
    int64_t i;
    int j, e;
    for (i = 0; i < n / 256; i++) {
        rf__block_iq4_xs x;
        rf__block_q8_K y;
        int isum = 0;
        RF__GET_BLOCK(x, w, i);
        RF__GET_BLOCK(y, a, i);
        for (j = 0; j < 8; j++) {
            int s = 0;
            for (e = 0; e < 32; e++) s += rf__kvalues_iq4[rf__nibble32(x.qs + 16 * j, e)] * y.qs[32 * j + e];
            isum += rf__iq4xs_scale(&x, j) * s;
        }
        acc += (double)y.d * rf_fp16_to_fp32(x.d) * isum;
    }
    return acc;
}

/* ---------------------------------------------------------------------------------------------
   Public dispatch */

typedef void (*rf__dequant_fn)(const void *src, float *dst, int64_t n);
typedef void (*rf__quant_fn)(const float *src, void *dst, int64_t n);
typedef double (*rf__dot_fn)(const void *w, const void *a, int64_t n);

typedef struct rf__quant_ops {
    rf__dequant_fn dequant;
    rf__quant_fn quant;
    rf__dot_fn dot;
} rf__quant_ops;

/* The kernels of a type; 0 when we have none (rf__types says which types can). */
static int rf__get_quant_ops(rf_type t, rf__quant_ops *o) {
#define RF__OPS(dq, q, dt) (o->dequant = (dq), o->quant = (q), o->dot = (dt), 1)
    switch (t) {
    case RF_TYPE_F32: return RF__OPS(rf__dequant_f32, rf__quant_f32, rf__dot_f32_f32);
    case RF_TYPE_F16: return RF__OPS(rf__dequant_f16, rf__quant_f16, rf__dot_f16_f32);
    case RF_TYPE_BF16: return RF__OPS(rf__dequant_bf16, rf__quant_bf16, rf__dot_bf16_f32);
    case RF_TYPE_Q4_0: return RF__OPS(rf__dequant_q4_0, rf__quant_q4_0, rf__dot_q4_0_q8_0);
    case RF_TYPE_Q4_1: return RF__OPS(rf__dequant_q4_1, rf__quant_q4_1, rf__dot_q4_1_q8_1);
    case RF_TYPE_Q5_0: return RF__OPS(rf__dequant_q5_0, rf__quant_q5_0, rf__dot_q5_0_q8_0);
    case RF_TYPE_Q5_1: return RF__OPS(rf__dequant_q5_1, rf__quant_q5_1, rf__dot_q5_1_q8_1);
    case RF_TYPE_Q8_0: return RF__OPS(rf__dequant_q8_0, rf__quant_q8_0, rf__dot_q8_0_q8_0);
    case RF_TYPE_Q8_1: return RF__OPS(rf__dequant_q8_1, rf__quant_q8_1, rf__dot_q8_1_q8_1);
    case RF_TYPE_Q2_K: return RF__OPS(rf__dequant_q2_K, rf__quant_q2_K, rf__dot_q2_K_q8_K);
    case RF_TYPE_Q3_K: return RF__OPS(rf__dequant_q3_K, rf__quant_q3_K, rf__dot_q3_K_q8_K);
    case RF_TYPE_Q4_K: return RF__OPS(rf__dequant_q4_K, rf__quant_q4_K, rf__dot_q4_K_q8_K);
    case RF_TYPE_Q5_K: return RF__OPS(rf__dequant_q5_K, rf__quant_q5_K, rf__dot_q5_K_q8_K);
    case RF_TYPE_Q6_K: return RF__OPS(rf__dequant_q6_K, rf__quant_q6_K, rf__dot_q6_K_q8_K);
    case RF_TYPE_Q8_K: return RF__OPS(rf__dequant_q8_K, rf__quant_q8_K, rf__dot_q8_K_q8_K);
    case RF_TYPE_IQ4_NL: return RF__OPS(rf__dequant_iq4_nl, rf__quant_iq4_nl, rf__dot_iq4_nl_q8_0);
    case RF_TYPE_IQ4_XS: return RF__OPS(rf__dequant_iq4_xs, rf__quant_iq4_xs, rf__dot_iq4_xs_q8_K);
    case RF_TYPE_MXFP4: return RF__OPS(rf__dequant_mxfp4, rf__quant_mxfp4, rf__dot_mxfp4_q8_0);
    default: return 0;
    }
#undef RF__OPS
}

/* Common argument checks; `what` is "dequantize", "quantize" or "vec_dot". */
static rf_status rf__quant_check(const char *what, rf_type type, int64_t n, const void *p1, const void *p2,
                                 const void *p3, int can, rf__quant_ops *ops) {
    const rf_type_traits *t = rf_type_get((uint32_t)type);
    memset(ops, 0, sizeof *ops); /* set on success only; gcc -O3 cannot tell */
    if (!t) return rf__err(RF_ERR_BAD_TYPE, "rf_%s: unknown tensor type id %d", what, (int)type);
    if (!p1 || !p2 || !p3) return rf__err(RF_ERR_INVALID_ARG, "rf_%s(%s, n=%lld): NULL pointer", what, t->name, (long long)n);
    if (n < 0) return rf__err(RF_ERR_INVALID_ARG, "rf_%s(%s, n=%lld): negative length", what, t->name, (long long)n);
    if (n % t->block_size != 0)
        return rf__err(RF_ERR_BAD_SHAPE, "rf_%s(%s, n=%lld): n is not a multiple of the block size %d", what,
                       t->name, (long long)n, (int)t->block_size);
    if (!can || !rf__get_quant_ops(type, ops))
        return rf__err(RF_ERR_UNSUPPORTED, "rf_%s: type %s is not supported", what, t->name);
    if ((uint64_t)n > SIZE_MAX / 4) /* n floats must be addressable */
        return rf__err(RF_ERR_TOO_LARGE, "rf_%s(%s, n=%lld): too many elements", what, t->name, (long long)n);
    return RF_OK;
}

RF_API rf_status rf_dequantize(rf_type type, const void *src, float *dst, int64_t n) {
    rf__quant_ops ops;
    const rf_type_traits *t = rf_type_get((uint32_t)type);
    rf_status s = rf__quant_check("dequantize", type, n, src, dst, src, t ? t->can_dequant : 0, &ops);
    if (s != RF_OK) return s;
    ops.dequant(src, dst, n);
    return RF_OK;
}

RF_API rf_status rf_quantize(rf_type type, const float *src, void *dst, int64_t n) {
    rf__quant_ops ops;
    const rf_type_traits *t = rf_type_get((uint32_t)type);
    rf_status s = rf__quant_check("quantize", type, n, src, dst, src, t ? t->can_quant : 0, &ops);
    if (s != RF_OK) return s;
    ops.quant(src, dst, n);
    return RF_OK;
}

RF_API rf_status rf_vec_dot(rf_type type, int64_t n, const void *w, const void *a, float *out) {
    rf__quant_ops ops;
    const rf_type_traits *t = rf_type_get((uint32_t)type);
    rf_status s = rf__quant_check("vec_dot", type, n, w, a, out, t ? t->can_dequant : 0, &ops);
    if (s != RF_OK) return s;
    /* the activation's blocks must line up with the weight's */
    if (n % rf__types[t->vec_dot_type].block_size != 0)
        return rf__err(RF_ERR_BAD_SHAPE, "rf_vec_dot(%s, n=%lld): n is not a multiple of the %s block size",
                       t->name, (long long)n, rf__types[t->vec_dot_type].name);
    *out = (float)ops.dot(w, a, n);
    return RF_OK;
}
