/* The scalar quant kernels: round-trip error, determinism, zero and extreme inputs, vec_dot
   against a double-precision dot of the dequantized rows, argument errors, and fp16/bf16
   conversion against values worked out from IEEE 754. Bit-exactness against gguf-py's
   dequantizers is tests/test_quant_ref.py. Set RF_VERBOSE=1 to print the measured errors. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "rf_test.h"
#include "rocmforge.h"

/* Round trip (quantize then dequantize) of N(0, 1) data: RMS error divided by the data's RMS
   must stay below these bounds. Measured with this file's data (16384 values, seed 1) when the
   quantizers were written; bound = measured + about 10%, so a quantizer change that loses
   accuracy fails here. (f16/bf16: the expected 2^-11 / 2^-8 relative rounding.)
   | type   | measured | bound   |  | type   | measured | bound  |
   |--------|----------|---------|--|--------|----------|--------|
   | f32    | 0        | 0       |  | q2_K   | 0.2758   | 0.30   |
   | f16    | 0.000208 | 0.00023 |  | q3_K   | 0.1479   | 0.163  |
   | bf16   | 0.00164  | 0.0018  |  | q4_K   | 0.0739   | 0.081  |
   | q4_0   | 0.0865   | 0.095   |  | q5_K   | 0.0375   | 0.041  |
   | q4_1   | 0.0787   | 0.087   |  | q6_K   | 0.0166   | 0.0183 |
   | q5_0   | 0.0431   | 0.048   |  | q8_K   | 0.00694  | 0.0076 |
   | q5_1   | 0.0380   | 0.042   |  | iq4_nl | 0.0746   | 0.082  |
   | q8_0   | 0.00541  | 0.0060  |  | iq4_xs | 0.0753   | 0.083  |
   | q8_1   | 0.00541  | 0.0060  |  | mxfp4  | 0.1115   | 0.123  | */
static const struct {
    rf_type type;
    double rms_bound;
} kTypes[] = {
    {RF_TYPE_F32, 0.0},      {RF_TYPE_F16, 0.00023},  {RF_TYPE_BF16, 0.0018},  {RF_TYPE_Q4_0, 0.095},
    {RF_TYPE_Q4_1, 0.087},   {RF_TYPE_Q5_0, 0.048},   {RF_TYPE_Q5_1, 0.042},   {RF_TYPE_Q8_0, 0.0060},
    {RF_TYPE_Q8_1, 0.0060},  {RF_TYPE_Q2_K, 0.30},    {RF_TYPE_Q3_K, 0.163},   {RF_TYPE_Q4_K, 0.081},
    {RF_TYPE_Q5_K, 0.041},   {RF_TYPE_Q6_K, 0.0183},  {RF_TYPE_Q8_K, 0.0076},  {RF_TYPE_IQ4_NL, 0.082},
    {RF_TYPE_IQ4_XS, 0.083}, {RF_TYPE_MXFP4, 0.123},
};
#define N_TYPES ((int)(sizeof kTypes / sizeof kTypes[0]))
#define N_DATA 16384 /* a multiple of every block size */

static int verbose(void) { return getenv("RF_VERBOSE") != NULL; }

/* xorshift64* and Box-Muller: deterministic normal samples */
static uint64_t rng_state;
static double uniform01(void) {
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static void normal_fill(float *x, int64_t n, uint64_t seed) {
    int64_t i;
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (i = 0; i < n; i++) {
        double u = uniform01(), v = uniform01();
        x[i] = (float)(sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v));
    }
}

static size_t row_bytes(rf_type t, int64_t n) {
    uint64_t b = 0;
    rf_type_row_bytes(t, n, &b);
    return (size_t)b;
}

static void test_roundtrip_rms_within_bounds(void) {
    float *x = (float *)malloc(N_DATA * sizeof(float)), *y = (float *)malloc(N_DATA * sizeof(float));
    unsigned char *q = (unsigned char *)malloc(N_DATA * 4);
    int t;
    REQUIRE(x && y && q);
    normal_fill(x, N_DATA, 1);
    for (t = 0; t < N_TYPES; t++) {
        const char *name = rf_type_name(kTypes[t].type);
        double err = 0.0, ref = 0.0, rel;
        int64_t i;
        CHECKF(rf_quantize(kTypes[t].type, x, q, N_DATA) == RF_OK, "%s: %s", name, rf_last_error());
        CHECKF(rf_dequantize(kTypes[t].type, q, y, N_DATA) == RF_OK, "%s: %s", name, rf_last_error());
        for (i = 0; i < N_DATA; i++) err += (double)(y[i] - x[i]) * (y[i] - x[i]), ref += (double)x[i] * x[i];
        rel = sqrt(err / ref);
        if (verbose()) printf("  rms %-7s %.6f (bound %g)\n", name, rel, kTypes[t].rms_bound);
        CHECKF(rel <= kTypes[t].rms_bound, "%s: relative RMS error %g > %g", name, rel, kTypes[t].rms_bound);
    }
    free(x), free(y), free(q);
}

static void test_quantize_is_deterministic(void) {
    float *x = (float *)malloc(4096 * sizeof(float));
    unsigned char *a = (unsigned char *)malloc(4096 * 4), *b = (unsigned char *)malloc(4096 * 4);
    int t;
    REQUIRE(x && a && b);
    normal_fill(x, 4096, 2);
    for (t = 0; t < N_TYPES; t++) {
        size_t bytes = row_bytes(kTypes[t].type, 4096);
        memset(a, 0xAA, 4096 * 4), memset(b, 0x55, 4096 * 4); /* every byte must be written */
        CHECK(rf_quantize(kTypes[t].type, x, a, 4096) == RF_OK);
        CHECK(rf_quantize(kTypes[t].type, x, b, 4096) == RF_OK);
        CHECKF(memcmp(a, b, bytes) == 0, "%s: two quantizations differ", rf_type_name(kTypes[t].type));
    }
    free(x), free(a), free(b);
}

static void test_zero_input_gives_zero_output(void) {
    static float x[512], y[512];
    static unsigned char q[2048];
    int t, i;
    memset(x, 0, sizeof x);
    for (t = 0; t < N_TYPES; t++) {
        int bad = 0;
        memset(y, 0xFF, sizeof y); /* NaN bit patterns, in case dequantize skips an element */
        CHECK(rf_quantize(kTypes[t].type, x, q, 512) == RF_OK);
        CHECK(rf_dequantize(kTypes[t].type, q, y, 512) == RF_OK);
        for (i = 0; i < 512; i++) bad += !(y[i] == 0.0f);
        CHECKF(bad == 0, "%s: %d nonzero or NaN outputs for zero input", rf_type_name(kTypes[t].type), bad);
    }
}

/* Huge, tiny, subnormal, infinite and NaN inputs: the quantized types never produce a NaN or
   inf on the way back (scales saturate, NaN elements become 0), and ordinary values in the
   same block still come back with the right sign. */
static void test_extreme_inputs_stay_finite(void) {
    static const float special[] = {1e30f, -3e38f, FLT_MAX, -FLT_MAX, 1e-30f, 1e-40f, 1e-45f, 0.0f,
                                    -0.0f, 1.0f, -1.0f, 65504.0f, 1e6f, 1e-8f};
    static float x[1024], y[1024];
    static unsigned char q[4096];
    int t, i, k;
    for (k = 0; k < 4; k++) { /* 4 blocks of 256: extremes, all tiny, all huge, +-inf and NaN */
        for (i = 0; i < 256; i++) {
            float v = special[i % (int)(sizeof special / sizeof special[0])];
            x[k * 256 + i] = k == 0 ? v : k == 1 ? v * 1e-38f : k == 2 ? (i % 2 ? 3e38f : -2e38f)
                           : (i % 3 == 0 ? INFINITY : i % 3 == 1 ? -INFINITY : NAN);
        }
    }
    for (t = 3; t < N_TYPES; t++) { /* skip f32, f16, bf16: inf and NaN are values there */
        int bad = 0;
        CHECK(rf_quantize(kTypes[t].type, x, q, 1024) == RF_OK);
        CHECK(rf_dequantize(kTypes[t].type, q, y, 1024) == RF_OK);
        for (i = 0; i < 1024; i++) bad += !isfinite(y[i]);
        CHECKF(bad == 0, "%s: %d non-finite outputs", rf_type_name(kTypes[t].type), bad);
        /* block 2 alternates +3e38 and -2e38: signs survive */
        CHECKF(y[513] > 0.0f && y[512] < 0.0f, "%s: huge values lost their sign (%g, %g)",
               rf_type_name(kTypes[t].type), y[513], y[512]);
    }
}

/* rf_vec_dot(w, a) == sum(dequant(w)_i * dequant(a)_i) computed in double, within
   1e-5 * sum |w_i a_i| (the reference also accumulates in double; what remains is float
   rounding of dequantized values). For q4_1/q5_1 . q8_1 the offset term uses the q8_1 block's
   stored s = fp16(d * sum(q)), so add its rounding: per block |m| * (|s| 2^-10 + 2^-24). */
static void test_vec_dot_matches_dequantized_dot(void) {
    static const int nblocks[] = {1, 3, 64};
    int t, l;
    for (t = 0; t < N_TYPES; t++) {
        rf_type wt = kTypes[t].type, at = rf_type_get(wt)->vec_dot_type;
        const char *name = rf_type_name(wt);
        int64_t bs = rf_type_get(wt)->block_size > rf_type_get(at)->block_size ? rf_type_get(wt)->block_size
                                                                               : rf_type_get(at)->block_size;
        for (l = 0; l < 3; l++) {
            int64_t n = bs * nblocks[l], i;
            float *x = (float *)malloc((size_t)n * 4), *wf = (float *)malloc((size_t)n * 4);
            float *af = (float *)malloc((size_t)n * 4), out = 0.0f;
            unsigned char *w = (unsigned char *)malloc((size_t)n * 4), *a = (unsigned char *)malloc((size_t)n * 4);
            double ref = 0.0, mag = 0.0, tol;
            REQUIRE(x && wf && af && w && a);
            normal_fill(x, n, 10 + (uint64_t)t);
            CHECK(rf_quantize(wt, x, w, n) == RF_OK && rf_dequantize(wt, w, wf, n) == RF_OK);
            normal_fill(x, n, 1000 + (uint64_t)t);
            for (i = 0; i < n; i++) x[i] += 0.3f; /* a nonzero mean exercises the offset terms */
            CHECK(rf_quantize(at, x, a, n) == RF_OK && rf_dequantize(at, a, af, n) == RF_OK);
            for (i = 0; i < n; i++) ref += (double)wf[i] * af[i], mag += fabs((double)wf[i] * af[i]);
            tol = 1e-5 * mag;
            if (at == RF_TYPE_Q8_1 && wt != RF_TYPE_Q8_1) {
                /* q4_1: 20-byte blocks, q5_1: 24; m is the fp16 at byte 2; q8_1's s at byte 2 of 36 */
                int64_t wsz = rf_type_get(wt)->type_size, b;
                for (b = 0; b < n / 32; b++) {
                    uint16_t m, s;
                    memcpy(&m, w + b * wsz + 2, 2);
                    memcpy(&s, a + b * 36 + 2, 2);
                    tol += fabs(rf_fp16_to_fp32(m)) * (fabs(rf_fp16_to_fp32(s)) * 0x1p-10 + 0x1p-24);
                }
            }
            CHECKF(rf_vec_dot(wt, n, w, a, &out) == RF_OK, "%s: %s", name, rf_last_error());
            CHECKF(fabs(out - ref) <= tol, "%s . %s, n=%lld: %.9g vs %.9g (tol %.3g)", name, rf_type_name(at),
                   (long long)n, out, ref, tol);
            free(x), free(wf), free(af), free(w), free(a);
        }
    }
}

/* Rows need not be aligned (a GGUF row of a 17- or 110-byte type may start anywhere): the same
   bytes at an odd address give the same results (and UBSan sees no misaligned access). */
static void test_unaligned_rows(void) {
    static float x[512], y0[512], y1[512];
    static unsigned char q0[2048], q1[2049], a0[2048], a1[2049];
    int t;
    normal_fill(x, 512, 3);
    for (t = 0; t < N_TYPES; t++) {
        rf_type wt = kTypes[t].type, at = rf_type_get(wt)->vec_dot_type;
        size_t wb = row_bytes(wt, 512), ab = row_bytes(at, 512);
        float d0 = 0.0f, d1 = 1.0f;
        CHECK(rf_quantize(wt, x, q0, 512) == RF_OK && rf_quantize(wt, x, q1 + 1, 512) == RF_OK);
        CHECKF(memcmp(q0, q1 + 1, wb) == 0, "%s: quantize differs at an odd address", rf_type_name(wt));
        CHECK(rf_dequantize(wt, q0, y0, 512) == RF_OK && rf_dequantize(wt, q1 + 1, y1, 512) == RF_OK);
        CHECKF(memcmp(y0, y1, sizeof y0) == 0, "%s: dequantize differs at an odd address", rf_type_name(wt));
        CHECK(rf_quantize(at, x, a0, 512) == RF_OK);
        memcpy(a1 + 1, a0, ab);
        CHECK(rf_vec_dot(wt, 512, q0, a0, &d0) == RF_OK && rf_vec_dot(wt, 512, q1 + 1, a1 + 1, &d1) == RF_OK);
        CHECKF(d0 == d1, "%s: vec_dot differs at an odd address", rf_type_name(wt));
    }
}

static void test_bad_arguments_are_errors(void) {
    static float x[512];
    static unsigned char q[2048];
    float out = 1.0f;
    memset(x, 0, sizeof x);
    CHECK(rf_dequantize(RF_TYPE_Q4_0, NULL, x, 32) == RF_ERR_INVALID_ARG);
    CHECK(rf_dequantize(RF_TYPE_Q4_0, q, NULL, 32) == RF_ERR_INVALID_ARG);
    CHECK(rf_dequantize(RF_TYPE_Q4_0, q, x, -32) == RF_ERR_INVALID_ARG);
    CHECK(rf_dequantize(RF_TYPE_Q4_0, q, x, 33) == RF_ERR_BAD_SHAPE);
    CHECKF(strstr(rf_last_error(), "q4_0") && strstr(rf_last_error(), "33"), "detail: %s", rf_last_error());
    CHECK(rf_quantize(RF_TYPE_Q4_K, x, q, 128) == RF_ERR_BAD_SHAPE);
    CHECKF(strstr(rf_last_error(), "q4_K") && strstr(rf_last_error(), "128"), "detail: %s", rf_last_error());
    CHECK(rf_quantize(RF_TYPE_Q8_0, NULL, q, 32) == RF_ERR_INVALID_ARG);
    CHECK(rf_quantize(RF_TYPE_Q8_0, x, NULL, 32) == RF_ERR_INVALID_ARG);
    CHECK(rf_quantize(RF_TYPE_Q8_0, x, q, -1) == RF_ERR_INVALID_ARG);
    /* known types this build cannot handle */
    CHECK(rf_dequantize(RF_TYPE_IQ2_XXS, q, x, 256) == RF_ERR_UNSUPPORTED);
    CHECKF(strstr(rf_last_error(), "iq2_xxs") != NULL, "detail: %s", rf_last_error());
    CHECK(rf_quantize(RF_TYPE_I32, x, q, 4) == RF_ERR_UNSUPPORTED);
    CHECK(rf_vec_dot(RF_TYPE_TQ1_0, 256, q, q, &out) == RF_ERR_UNSUPPORTED);
    /* retired and out-of-range ids */
    CHECK(rf_dequantize((rf_type)4, q, x, 32) == RF_ERR_BAD_TYPE);
    CHECK(rf_quantize((rf_type)1000, x, q, 32) == RF_ERR_BAD_TYPE);
    CHECK(rf_vec_dot((rf_type)-1, 32, q, q, &out) == RF_ERR_BAD_TYPE);
    CHECK(rf_vec_dot(RF_TYPE_Q4_0, 32, q, q, NULL) == RF_ERR_INVALID_ARG);
    CHECK(rf_vec_dot(RF_TYPE_Q4_0, 32, NULL, q, &out) == RF_ERR_INVALID_ARG);
    CHECK(rf_vec_dot(RF_TYPE_Q4_0, 48, q, q, &out) == RF_ERR_BAD_SHAPE);
    /* zero elements: nothing to do, and the dot of nothing is 0 */
    CHECK(rf_quantize(RF_TYPE_Q4_0, x, q, 0) == RF_OK);
    CHECK(rf_vec_dot(RF_TYPE_Q4_K, 0, q, q, &out) == RF_OK && out == 0.0f);
}

/* Every type the table says can dequantize / quantize really can (and the rest say no). */
static void test_type_table_matches_kernels(void) {
    static float x[256];
    static unsigned char q[2048];
    uint32_t id;
    memset(x, 0, sizeof x), memset(q, 0, sizeof q);
    for (id = 0; id < RF_TYPE_COUNT; id++) {
        const rf_type_traits *t = rf_type_get(id);
        rf_status sd, sq;
        if (!t) continue;
        sd = rf_dequantize((rf_type)id, q, x, 256);
        sq = rf_quantize((rf_type)id, x, q, 256);
        CHECKF((sd == RF_OK) == (t->can_dequant != 0), "%s: dequantize %s", t->name, rf_status_str(sd));
        CHECKF((sq == RF_OK) == (t->can_quant != 0), "%s: quantize %s", t->name, rf_status_str(sq));
    }
}

static float f32_of_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t bits_of_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Expected values from IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits;
   max 65504 = 0x7bff, smallest normal 2^-14 = 0x0400, smallest subnormal 2^-24 = 0x0001,
   round to nearest, ties to even. */
static void test_fp32_to_fp16_ieee_cases(void) {
    static const struct { float f; uint16_t h; } c[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000}, {0.5f, 0x3800},
        {65504.0f, 0x7bff},                         /* max finite */
        {65519.99609375f, 0x7bff},                  /* just below the halfway point to 2^16 */
        {65520.0f, 0x7c00},                         /* halfway, 0x7bff is odd: ties up to inf */
        {1e6f, 0x7c00}, {-1e6f, 0xfc00}, {INFINITY, 0x7c00}, {-INFINITY, 0xfc00},
        {0x1p-14f, 0x0400},                         /* smallest normal */
        {0x1p-24f, 0x0001},                         /* smallest subnormal */
        {0x1p-25f, 0x0000},                         /* halfway to 2^-24: ties to even 0 */
        {0x1.000002p-25f, 0x0001},                  /* just above halfway */
        {-0x1p-25f, 0x8000},
        {0x1.8p-24f, 0x0002},                       /* 1.5 * 2^-24: ties to even 2 */
        {0x1.4p-23f, 0x0002},                       /* 2.5 * 2^-24: ties to even 2 */
        {0x1.ff8p-15f, 0x03ff},                     /* largest subnormal 1023 * 2^-24 */
        {0x1.ffcp-15f, 0x0400},                     /* 1023.5 * 2^-24: ties up into the normals */
        {0x1.ff4p-15f, 0x03fe},                     /* 1022.5 * 2^-24: ties to even 1022 */
        {0x1.002p0f, 0x3c00},                       /* 1 + 2^-11: halfway, ties to even 1.0 */
        {0x1.006p0f, 0x3c02},                       /* 1 + 3 * 2^-11: ties to even 0x3c02 */
        {0x1.002002p0f, 0x3c01},                    /* just above 1 + 2^-11 */
        {2049.0f, 0x6800}, {2051.0f, 0x6802},       /* spacing 2 in [2048, 4096) */
        {0.1f, 0x2e66}, {1e-45f, 0x0000}, {-1e-45f, 0x8000},
    };
    int i;
    for (i = 0; i < (int)(sizeof c / sizeof c[0]); i++)
        CHECKF(rf_fp32_to_fp16(c[i].f) == c[i].h, "%a -> %#06x, want %#06x", c[i].f, rf_fp32_to_fp16(c[i].f), c[i].h);
    {   /* NaN stays NaN (exponent all ones, mantissa nonzero), sign kept */
        uint16_t h = rf_fp32_to_fp16(NAN), hn = rf_fp32_to_fp16(f32_of_bits(0xff800001u)); /* -sNaN */
        CHECKF((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0, "NaN -> %#06x", h);
        CHECKF((hn & 0xfc00) == 0xfc00 && (hn & 0x3ff) != 0, "-sNaN -> %#06x", hn);
    }
}

static void test_fp16_to_fp32_ieee_cases(void) {
    static const struct { uint16_t h; float f; } c[] = {
        {0x0000, 0.0f}, {0x3c00, 1.0f}, {0xc000, -2.0f}, {0x7bff, 65504.0f}, {0x0400, 0x1p-14f},
        {0x0001, 0x1p-24f}, {0x03ff, 0x1.ff8p-15f}, {0x8001, -0x1p-24f}, {0x3555, 0x1.554p-2f},
        {0x7c00, INFINITY}, {0xfc00, -INFINITY},
    };
    int i;
    for (i = 0; i < (int)(sizeof c / sizeof c[0]); i++)
        CHECKF(bits_of_f32(rf_fp16_to_fp32(c[i].h)) == bits_of_f32(c[i].f), "%#06x -> %a, want %a", c[i].h,
               rf_fp16_to_fp32(c[i].h), c[i].f);
    CHECK(bits_of_f32(rf_fp16_to_fp32(0x8000)) == 0x80000000u); /* -0 */
    CHECK(isnan(rf_fp16_to_fp32(0x7e00)) && isnan(rf_fp16_to_fp32(0x7c01)) && isnan(rf_fp16_to_fp32(0xffff)));
    {   /* every finite half survives the round trip */
        uint32_t h;
        int bad = 0;
        for (h = 0; h < 0x10000; h++)
            if ((h & 0x7c00) != 0x7c00 && rf_fp32_to_fp16(rf_fp16_to_fp32((uint16_t)h)) != h) bad++;
        CHECKF(bad == 0, "%d halves do not round-trip", bad);
    }
}

/* bfloat16 is the top 16 bits of a binary32: 8 exponent, 7 mantissa bits. */
static void test_bf16_ieee_cases(void) {
    static const struct { uint32_t f; uint16_t h; } c[] = {
        {0x00000000u, 0x0000}, {0x80000000u, 0x8000}, {0x3f800000u, 0x3f80}, /* 0, -0, 1 */
        {0x3f808000u, 0x3f80},  /* 1 + 2^-8: halfway, ties to even */
        {0x3f818000u, 0x3f82},  /* 1 + 3 * 2^-8: halfway, ties to even */
        {0x3f808001u, 0x3f81},  /* just above halfway */
        {0x7f7fffffu, 0x7f80},  /* FLT_MAX is above the halfway point past bf16's max: inf */
        {0x7f7f7fffu, 0x7f7f},  /* below it: bf16 max */
        {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80},                       /* +-inf */
        {0x00000001u, 0x0000}, {0x00008000u, 0x0000}, {0x00018000u, 0x0002}, /* subnormal ties */
        {0x7f800001u, 0x7fc0},  /* signalling NaN: quieted, stays NaN */
        {0xffc00000u, 0xffc0},
    };
    int i;
    for (i = 0; i < (int)(sizeof c / sizeof c[0]); i++)
        CHECKF(rf_fp32_to_bf16(f32_of_bits(c[i].f)) == c[i].h, "%#010x -> %#06x, want %#06x", (unsigned)c[i].f,
               rf_fp32_to_bf16(f32_of_bits(c[i].f)), c[i].h);
    CHECK(rf_bf16_to_fp32(0x3f80) == 1.0f);
    CHECK(rf_bf16_to_fp32(0x0001) == 0x1p-133f); /* smallest bf16 subnormal */
    CHECK(bits_of_f32(rf_bf16_to_fp32(0xc2f7)) == 0xc2f70000u);
    CHECK(isnan(rf_bf16_to_fp32(0x7fc0)));
}

int main(void) {
    (void)rft_shared_dir; /* rf_test.h defines it static; this test needs no shared models */
    RUN(test_roundtrip_rms_within_bounds);
    RUN(test_quantize_is_deterministic);
    RUN(test_zero_input_gives_zero_output);
    RUN(test_extreme_inputs_stay_finite);
    RUN(test_vec_dot_matches_dequantized_dot);
    RUN(test_unaligned_rows);
    RUN(test_bad_arguments_are_errors);
    RUN(test_type_table_matches_kernels);
    RUN(test_fp32_to_fp16_ieee_cases);
    RUN(test_fp16_to_fp32_ieee_cases);
    RUN(test_bf16_ieee_cases);
    return TEST_EXIT();
}
