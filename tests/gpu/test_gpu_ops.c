/* Every GPU op against the CPU reference on random inputs and awkward shapes (odd rows, tails,
   1 token, 512 tokens), like llama.cpp's test-backend-ops. Built only with make CUDA=1 / HIP=1.
   This file holds the implementation itself so it can call the CPU's static ops (rf__rmsnorm,
   rf__rope, rf__softmax, ...) as the reference.

   Tolerances (stated per test): err = max |gpu - ref| / max(scale, 1e-30), with scale the
   natural magnitude of the result (sum |w||x| for a dot product, max |ref| otherwise). */
#define ROCMFORGE_IMPLEMENTATION
#ifndef ROCMFORGE_HIP
#define ROCMFORGE_HIP
#endif
#include "rocmforge.h"
#include "rf_test.h"

static rf_hip_dev *G;
static uint64_t rng = 88172645463325252ull;
static float frand(void) { /* xorshift, uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static void *dev_alloc(rf_hip_buf **b, size_t n) {
    if (rf_hip_buf_new(G, n, b)) return NULL;
    return rf_hip_buf_alloc(*b, n, 256);
}
static void *dev_copy(rf_hip_buf **b, const void *src, size_t n) {
    void *p = dev_alloc(b, n);
    if (p && rf_hip_upload(G, p, src, n)) return NULL;
    return p;
}

/* ----- GEMV: every type, against dequantize + double dot (exact weights, f32 activations), and
   with the CPU's activation rounding against rf_vec_dot (what the CPU forward pass computes). */
static const rf_type gemv_types[] = {RF_TYPE_F32, RF_TYPE_F16, RF_TYPE_BF16, RF_TYPE_Q4_0, RF_TYPE_Q4_1, RF_TYPE_Q5_0,
                                     RF_TYPE_Q5_1, RF_TYPE_Q8_0, RF_TYPE_Q2_K, RF_TYPE_Q3_K, RF_TYPE_Q4_K, RF_TYPE_Q5_K,
                                     RF_TYPE_Q6_K, RF_TYPE_IQ4_NL, RF_TYPE_IQ4_XS, RF_TYPE_MXFP4};

static double gemv_case(rf_type type, int64_t ne0, int64_t ne1, int64_t nt, int cpu_act) {
    const rf_type_traits *tr = rf_type_get(type);
    rf_type at = tr->vec_dot_type;
    uint64_t rb = 0, ab = 0;
    float *w = RF__NEW(float, ne0 * ne1), *x = RF__NEW(float, ne0 * nt), *y = RF__NEW(float, ne1 * nt), *row = RF__NEW(float, ne0);
    uint8_t *wq, *aq;
    rf_hip_buf *bw = NULL, *bx = NULL, *by = NULL, *bq = NULL;
    void *dw, *dx, *dy, *dq = NULL;
    double worst = 0;
    int64_t r, t, i;
    rf_type_row_bytes(type, ne0, &rb);
    wq = RF__NEW(uint8_t, rb * ne1);
    rf_type_row_bytes(at == RF_TYPE_F32 ? RF_TYPE_F32 : at, ne0, &ab);
    aq = RF__NEW(uint8_t, ab);
    for (i = 0; i < ne0 * ne1; i++) w[i] = frand();
    for (i = 0; i < ne0 * nt; i++) x[i] = frand() * 2.0f;
    for (r = 0; r < ne1; r++) rf_quantize(type, w + r * ne0, wq + r * rb, ne0);
    dw = dev_copy(&bw, wq, rb * ne1);
    dx = dev_copy(&bx, x, sizeof(float) * ne0 * nt);
    dy = dev_alloc(&by, sizeof(float) * ne1 * nt);
    if (cpu_act && at != RF_TYPE_F32) dq = dev_alloc(&bq, sizeof(float) * ne0 * nt);
    if (!dw || !dx || !dy || (cpu_act && at != RF_TYPE_F32 && !dq)) {
        worst = 1e30;
        goto done;
    }
    if (dq) {
        if (rf_hip_quant_act(G, (int)at, (const float *)dx, ne0, (float *)dq, ne0, nt)) worst = 1e30;
        dx = dq;
    }
    if (rf_hip_gemv(G, (int)type, dw, ne0, ne1, rb, (const float *)dx, ne0, (float *)dy, ne1, nt, NULL, 0) ||
        rf_hip_download(G, y, dy, sizeof(float) * ne1 * nt)) {
        worst = 1e30;
        goto done;
    }
    for (t = 0; t < nt; t++) {
        if (cpu_act && at != RF_TYPE_F32) rf_quantize(at, x + t * ne0, aq, ne0);
        for (r = 0; r < ne1; r++) {
            double ref = 0, mag = 0;
            rf_dequantize(type, wq + r * rb, row, ne0);
            for (i = 0; i < ne0; i++) mag += fabs((double)row[i] * x[t * ne0 + i]);
            if (cpu_act) {
                float v;
                rf_vec_dot(type, ne0, wq + r * rb, at == RF_TYPE_F32 ? (const void *)(x + t * ne0) : (const void *)aq, &v);
                ref = v;
            } else {
                for (i = 0; i < ne0; i++) ref += (double)row[i] * x[t * ne0 + i];
            }
            if (fabs(y[t * ne1 + r] - ref) / (mag + 1e-30) > worst) worst = fabs(y[t * ne1 + r] - ref) / (mag + 1e-30);
        }
    }
done:
    rf_hip_buf_free(bw), rf_hip_buf_free(bx), rf_hip_buf_free(by), rf_hip_buf_free(bq);
    RF_FREE(w), RF_FREE(x), RF_FREE(y), RF_FREE(row), RF_FREE(wq), RF_FREE(aq);
    return worst;
}

/* tolerance: 1e-5 of sum |w x| (float accumulation of up to 4096 products); 1e-4 against
   rf_vec_dot for q4_1/q5_1, whose q8_1 partner stores s = d * sum(q) rounded to fp16 (a 2^-11
   relative error in the min term that the GPU, computing the min term exactly, does not make) */
static void test_gemv_all_types(void) {
    static const int64_t shapes[][3] = {{256, 1, 1}, {256, 17, 1}, {512, 33, 7}, {1024, 131, 9}, {2048, 64, 512}, {4096, 5, 3}};
    size_t ti, si;
    for (ti = 0; ti < sizeof gemv_types / sizeof gemv_types[0]; ti++)
        for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            double e0 = gemv_case(gemv_types[ti], shapes[si][0], shapes[si][1], shapes[si][2], 0);
            double e1 = gemv_case(gemv_types[ti], shapes[si][0], shapes[si][1], shapes[si][2], 1);
            const double tol1 = rf_type_get(gemv_types[ti])->vec_dot_type == RF_TYPE_Q8_1 ? 1e-4 : 1e-5;
            CHECKF(e0 < 1e-5 && e1 < tol1, "%s %lldx%lld x %lld tokens: err %.3g (f32 act), %.3g (cpu act)",
                   rf_type_name(gemv_types[ti]), (long long)shapes[si][0], (long long)shapes[si][1],
                   (long long)shapes[si][2], e0, e1);
        }
    printf("  gemv: %d types x 6 shapes, both activation modes\n", (int)(sizeof gemv_types / sizeof gemv_types[0]));
}

/* ----- the int8 path: activations quantized on the device equal the CPU's q8_0 / q8_K blocks
   byte for byte (tolerance 0), the fused RMSNorm form equals rmsnorm then quantize (0), and the
   int8 GEMV over packed weights equals rf_vec_dot on the CPU's quantized activations within
   1e-5 of sum |w x| (the integer sums are exact; only the float sum of block terms is ordered
   differently). */
static const rf_type q8_types[] = {RF_TYPE_Q4_0, RF_TYPE_Q8_0, RF_TYPE_Q4_K, RF_TYPE_Q6_K};

static void test_act_q8_exact(void) {
    const int64_t n = 1536, rows = 5;
    float *x = RF__NEW(float, n * rows), *nw = RF__NEW(float, n);
    uint8_t *act = RF__NEW(uint8_t, rf_hip_act_q8_bytes(n, rows)), *act2 = RF__NEW(uint8_t, rf_hip_act_q8_bytes(n, rows));
    uint8_t *ref = RF__NEW(uint8_t, 2 * n);
    rf_hip_buf *bx = NULL, *ba = NULL, *bn = NULL, *bt = NULL;
    float *dx, *dn, *dt;
    void *da;
    int64_t i, r, b;
    int kq, gelu;
    for (i = 0; i < n * rows; i++) x[i] = frand() * (i % 97 == 0 ? 40.0f : 3.0f);
    for (i = 0; i < 64; i++) x[2 * n + i] = 0.0f; /* an all-zero block: scale 0 */
    for (i = 0; i < n; i++) nw[i] = 0.5f + frand();
    dx = (float *)dev_copy(&bx, x, sizeof(float) * n * rows);
    dn = (float *)dev_copy(&bn, nw, sizeof(float) * n);
    dt = (float *)dev_alloc(&bt, sizeof(float) * n * rows);
    da = dev_alloc(&ba, rf_hip_act_q8_bytes(n, rows));
    REQUIRE(dx && dn && dt && da);
    for (kq = 0; kq < 2; kq++) {
        const int64_t stride = (int64_t)rf_hip_act_q8_bytes(n, 1);
        int64_t bad_r = -1, bad_b = -1;
        REQUIRE(rf_hip_act_q8(G, kq, dx, n, NULL, 1e-5f, n, rows, da) == 0);
        REQUIRE(rf_hip_download(G, act, da, rf_hip_act_q8_bytes(n, rows)) == 0);
        for (r = 0; r < rows && bad_r < 0; r++) {
            const uint8_t *row = act + r * stride;
            const float *d = (const float *)(row + n);
            const int32_t *sm = (const int32_t *)(row + n + 4 * (n / 32));
            rf_quantize(kq ? RF_TYPE_Q8_K : RF_TYPE_Q8_0, x + r * n, ref, n);
            for (b = 0; b < n / 32 && bad_r < 0; b++) {
                const uint8_t *qs;
                float rd;
                int s0 = 0, s1 = 0, j;
                if (kq) { /* 292-byte blocks: float d, 256 int8, 16 int16 sums */
                    const uint8_t *blk = ref + (b / 8) * 292;
                    memcpy(&rd, blk, 4);
                    qs = blk + 4 + 32 * (b % 8);
                } else { /* 34-byte blocks: fp16 d, 32 int8 */
                    uint16_t h;
                    memcpy(&h, ref + b * 34, 2);
                    rd = rf_fp16_to_fp32(h);
                    qs = ref + b * 34 + 2;
                }
                for (j = 0; j < 16; j++) s0 += (int8_t)qs[j], s1 += (int8_t)qs[16 + j];
                if (memcmp(qs, row + 32 * b, 32) || rd != d[b] || s0 != sm[2 * b] || s1 != sm[2 * b + 1]) bad_r = r, bad_b = b;
            }
        }
        CHECKF(bad_r < 0, "act_q8 %s: %lld rows of %lld equal rf_quantize's blocks (first difference: row %lld block %lld)",
               kq ? "q8_K" : "q8_0", (long long)rows, (long long)n, (long long)bad_r, (long long)bad_b);
        /* fused RMSNorm == rmsnorm, then quantize */
        REQUIRE(rf_hip_rmsnorm(G, dt, dx, dn, n, rows, 1e-5f) == 0);
        REQUIRE(rf_hip_act_q8(G, kq, dt, n, NULL, 1e-5f, n, rows, da) == 0);
        REQUIRE(rf_hip_download(G, act2, da, rf_hip_act_q8_bytes(n, rows)) == 0);
        REQUIRE(rf_hip_act_q8(G, kq, dx, n, dn, 1e-5f, n, rows, da) == 0);
        REQUIRE(rf_hip_download(G, act, da, rf_hip_act_q8_bytes(n, rows)) == 0);
        CHECKF(!memcmp(act, act2, rf_hip_act_q8_bytes(n, rows)), "act_q8 %s with the RMSNorm fused == rmsnorm, then act_q8",
               kq ? "q8_K" : "q8_0");
        /* fused GLU == glu, then quantize (x as the gate, x shifted by one row as up) */
        for (gelu = 0; gelu < 2; gelu++) {
            REQUIRE(rf_hip_glu(G, dt, n, dx, n, dx + n, n, n, rows - 1, gelu) == 0);
            REQUIRE(rf_hip_act_q8(G, kq, dt, n, NULL, 0.0f, n, rows - 1, da) == 0);
            REQUIRE(rf_hip_download(G, act2, da, rf_hip_act_q8_bytes(n, rows - 1)) == 0);
            REQUIRE(rf_hip_glu_q8(G, kq, dx, n, dx + n, n, n, rows - 1, gelu, da) == 0);
            REQUIRE(rf_hip_download(G, act, da, rf_hip_act_q8_bytes(n, rows - 1)) == 0);
            CHECKF(!memcmp(act, act2, rf_hip_act_q8_bytes(n, rows - 1)), "act_q8 %s with the %s fused == glu, then act_q8",
                   kq ? "q8_K" : "q8_0", gelu ? "GeGLU" : "SwiGLU");
        }
    }
    CHECK(rf_hip_act_q8(G, 1, dx, n, NULL, 1e-5f, 1000, 1, da) != 0); /* not whole 256-blocks */
    rf_hip_buf_free(bx), rf_hip_buf_free(ba), rf_hip_buf_free(bn), rf_hip_buf_free(bt);
    RF_FREE(x), RF_FREE(nw), RF_FREE(act), RF_FREE(act2), RF_FREE(ref);
}

static double gemv_q8_case(rf_type type, int64_t ne0, int64_t ne1, int64_t nt, int accumulate) {
    const rf_type at = rf_type_get(type)->vec_dot_type;
    const int kq = rf_hip_q8_act_type((int)type);
    uint64_t rb = 0, ab = 0;
    float *w = RF__NEW(float, ne0 * ne1), *x = RF__NEW(float, ne0 * nt), *y = RF__NEW(float, ne1 * nt),
          *y0 = RF__NEW(float, ne1 * nt), *row = RF__NEW(float, ne0);
    uint8_t *wq, *packed, *aq;
    rf_hip_buf *bw = NULL, *bx = NULL, *by = NULL, *ba = NULL;
    void *dw, *dx, *dy, *da;
    double worst = 0;
    int64_t r, t, i;
    rf_type_row_bytes(type, ne0, &rb);
    rf_type_row_bytes(at, ne0, &ab);
    wq = RF__NEW(uint8_t, rb * ne1);
    packed = RF__NEW(uint8_t, rb * ne1);
    aq = RF__NEW(uint8_t, ab);
    for (i = 0; i < ne0 * ne1; i++) w[i] = frand();
    for (i = 0; i < ne0 * nt; i++) x[i] = frand() * 2.0f;
    for (i = 0; i < ne1 * nt; i++) y0[i] = accumulate ? frand() * 10.0f : 0.0f;
    for (r = 0; r < ne1; r++) rf_quantize(type, w + r * ne0, wq + r * rb, ne0);
    if (kq < 0 || rf_hip_pack((int)type, wq, ne0, ne1, packed)) {
        worst = 1e30;
        goto done;
    }
    dw = dev_copy(&bw, packed, rb * ne1);
    dx = dev_copy(&bx, x, sizeof(float) * ne0 * nt);
    dy = dev_copy(&by, y0, sizeof(float) * ne1 * nt);
    da = dev_alloc(&ba, rf_hip_act_q8_bytes(ne0, nt));
    if (!dw || !dx || !dy || !da || rf_hip_act_q8(G, kq, (const float *)dx, ne0, NULL, 0.0f, ne0, nt, da) ||
        rf_hip_gemv_q8(G, (int)type, dw, ne0, ne1, da, (float *)dy, ne1, nt, accumulate, NULL, 0.0f) ||
        rf_hip_download(G, y, dy, sizeof(float) * ne1 * nt)) {
        worst = 1e30;
        goto done;
    }
    for (t = 0; t < nt; t++) {
        rf_quantize(at, x + t * ne0, aq, ne0);
        for (r = 0; r < ne1; r++) {
            double mag = fabs((double)y0[t * ne1 + r]);
            float v;
            rf_dequantize(type, wq + r * rb, row, ne0);
            for (i = 0; i < ne0; i++) mag += fabs((double)row[i] * x[t * ne0 + i]);
            rf_vec_dot(type, ne0, wq + r * rb, aq, &v);
            v += y0[t * ne1 + r];
            if (fabs(y[t * ne1 + r] - v) / (mag + 1e-30) > worst) worst = fabs(y[t * ne1 + r] - v) / (mag + 1e-30);
        }
    }
done:
    rf_hip_buf_free(bw), rf_hip_buf_free(bx), rf_hip_buf_free(by), rf_hip_buf_free(ba);
    RF_FREE(w), RF_FREE(x), RF_FREE(y), RF_FREE(y0), RF_FREE(row), RF_FREE(wq), RF_FREE(packed), RF_FREE(aq);
    return worst;
}

static void test_gemv_q8(void) {
    static const int64_t shapes[][3] = {{256, 1, 1}, {256, 17, 1}, {512, 33, 7}, {1024, 131, 9}, {2048, 64, 512}, {4096, 5, 3},
                                        {11008, 3, 1}, {256, 24001, 1}}; /* the last: Q4_0's two-rows-per-wave decode shape */
    size_t ti, si;
    for (ti = 0; ti < sizeof q8_types / sizeof q8_types[0]; ti++)
        for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            const rf_type ty = q8_types[ti];
            int64_t ne0 = shapes[si][0];
            double e0, e1;
            if (ne0 % rf_type_get(ty)->block_size) ne0 = ne0 / 256 * 256;
            e0 = gemv_q8_case(ty, ne0, shapes[si][1], shapes[si][2], 0);
            e1 = gemv_q8_case(ty, ne0, shapes[si][1], shapes[si][2], 1);
            CHECKF(e0 < 1e-5 && e1 < 1e-5, "gemv_q8 %s %lldx%lld x %lld tokens: err %.3g, accumulating %.3g", rf_type_name(ty),
                   (long long)ne0, (long long)shapes[si][1], (long long)shapes[si][2], e0, e1);
        }
    CHECK(rf_hip_q8_act_type(RF_TYPE_Q5_0) < 0 && rf_hip_q8_act_type(RF_TYPE_Q4_K) == 1 && rf_hip_q8_act_type(RF_TYPE_Q8_0) == 0);
}

/* ----- gate+up, GLU and q8_0 in one launch (rf_hip_gemv_q8_glu) against the two launches it
   replaces (rf_hip_gemv_q8 over the stacked matrix, then rf_hip_glu_q8, themselves tested against
   the CPU above): the activation bytes must be the same, bit for bit. */
static int gemv_q8_glu_case(rf_type type, int64_t ne0, int64_t nff, int gelu) {
    const int64_t ne1 = 2 * nff;
    uint64_t rb = 0;
    const size_t ab = rf_hip_act_q8_bytes(nff, 1);
    float *w = RF__NEW(float, ne0 * ne1), *x = RF__NEW(float, ne0);
    uint8_t *wq, *packed, *h1 = RF__NEW(uint8_t, ab), *h2 = RF__NEW(uint8_t, ab);
    rf_hip_buf *bw = NULL, *bx = NULL, *by = NULL, *ba = NULL, *b1 = NULL, *b2 = NULL;
    void *dw, *dx, *dy, *da, *d1, *d2;
    int64_t r, i;
    int same = 0;
    rf_type_row_bytes(type, ne0, &rb);
    wq = RF__NEW(uint8_t, rb * ne1);
    packed = RF__NEW(uint8_t, rb * ne1);
    for (i = 0; i < ne0 * ne1; i++) w[i] = frand();
    for (i = 0; i < ne0; i++) x[i] = frand() * 2.0f;
    for (r = 0; r < ne1; r++) rf_quantize(type, w + r * ne0, wq + r * rb, ne0);
    if (rf_hip_pack((int)type, wq, ne0, ne1, packed)) goto done;
    dw = dev_copy(&bw, packed, rb * ne1);
    dx = dev_copy(&bx, x, sizeof(float) * ne0);
    dy = dev_alloc(&by, sizeof(float) * ne1);
    da = dev_alloc(&ba, rf_hip_act_q8_bytes(ne0, 1));
    d1 = dev_alloc(&b1, ab);
    d2 = dev_alloc(&b2, ab);
    if (!dw || !dx || !dy || !da || !d1 || !d2 || rf_hip_act_q8(G, 0, (const float *)dx, ne0, NULL, 0.0f, ne0, 1, da) ||
        rf_hip_gemv_q8(G, (int)type, dw, ne0, ne1, da, (float *)dy, ne1, 1, 0, NULL, 0.0f) ||
        rf_hip_glu_q8(G, 0, (const float *)dy, ne1, (const float *)dy + nff, ne1, nff, 1, gelu, d1) ||
        rf_hip_gemv_q8_glu(G, (int)type, dw, ne0, nff, da, NULL, 0.0f, gelu, d2) || rf_hip_download(G, h1, d1, ab) ||
        rf_hip_download(G, h2, d2, ab))
        goto done;
    same = memcmp(h1, h2, ab) == 0;
done:
    rf_hip_buf_free(bw), rf_hip_buf_free(bx), rf_hip_buf_free(by), rf_hip_buf_free(ba), rf_hip_buf_free(b1), rf_hip_buf_free(b2);
    RF_FREE(w), RF_FREE(x), RF_FREE(wq), RF_FREE(packed), RF_FREE(h1), RF_FREE(h2);
    return same;
}

static void test_gemv_q8_glu(void) {
    static const int64_t shapes[][2] = {{32, 32}, {256, 96}, {1024, 352}, {4096, 64}}; /* {inputs, outputs} */
    static const rf_type types[] = {RF_TYPE_Q4_0, RF_TYPE_Q8_0};
    size_t ti, si;
    int gelu;
    for (ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (gelu = 0; gelu < 2; gelu++)
                CHECKF(gemv_q8_glu_case(types[ti], shapes[si][0], shapes[si][1], gelu), "gemv_q8_glu %s %lld -> %lld %s: not the two-launch bytes",
                       rf_type_name(types[ti]), (long long)shapes[si][0], (long long)shapes[si][1], gelu ? "GELU" : "SiLU");
    /* what it cannot do: K-quant activations (q8_K), outputs not whole 32-blocks */
    CHECK(rf_hip_gemv_q8_glu(G, RF_TYPE_Q4_K, NULL, 256, 32, NULL, NULL, 0.0f, 0, NULL) != 0);
    CHECK(rf_hip_gemv_q8_glu(G, RF_TYPE_Q4_0, NULL, 256, 48, NULL, NULL, 0.0f, 0, NULL) != 0);
}

/* ----- A GEMV into the residual stream that makes the next RMSNorm's int8 input
   (rf_hip_gemv_q8_norm), read with its sums of squares by rf_hip_gemv_q8 and rf_hip_gemv_q8_glu,
   against the launches it replaces (rf_hip_gemv_q8 accumulating, rf_hip_act_q8 with the norm,
   rf_hip_gemv_q8). Checks:
   (1) the new residual equals the accumulating rf_hip_gemv_q8's (the same sums in the same
       order): err_res = |fused - two-launch| / (|x0| + sum |w x|), bound 1e-6;
   (2) the next matrix's product against the exact one, in double, of its dequantized weights and
       the RMSNorm of the residual (computed here): the int8 input may cost at most half a step
       per value, amax_b / 254 with amax_b the largest |value| of the value's 32-block, and the
       f16 scale of rf_hip_act_q8 a further 0.06 step where a quant clamps at 127, so the bound is
       sum_i |w_i| amax_b(i) / 200 + 1e-5 sum_i |w_i x_i|; err = |gpu - exact| / bound, <= 1 -- for
       the fused path, and for the two-launch path to show that the bound is the right one;
   (3) rf_hip_gemv_q8_glu with the sums of squares writes the bytes of rf_hip_gemv_q8 with them
       followed by rf_hip_glu_q8. */
static int gemv_q8_norm_case(rf_type type, int64_t ne0, int64_t d, int64_t nff, double *e_res, double *e_fused, double *e_two) {
    const int64_t ne2 = 2 * nff; /* the matrix after the norm: a stacked gate+up */
    const float eps = 1e-5f;
    const size_t ab = rf_hip_act_q8_bytes(nff, 1);
    uint64_t rb1 = 0, rb2 = 0;
    float *w1 = RF__NEW(float, ne0 * d), *w2 = RF__NEW(float, d * ne2), *xin = RF__NEW(float, ne0), *x0 = RF__NEW(float, d),
          *nw = RF__NEW(float, d), *ya = RF__NEW(float, d), *yb = RF__NEW(float, d), *za = RF__NEW(float, ne2), *zb = RF__NEW(float, ne2);
    uint8_t *q1, *p1, *q2, *p2, *ha = RF__NEW(uint8_t, ab), *hb = RF__NEW(uint8_t, ab);
    rf_hip_buf *bb[14] = {NULL};
    void *dw1, *dw2, *dxin, *dxa, *dxb, *dnw, *dact, *dacta, *dactb, *dss, *dza, *dzb, *dh1, *dh2;
    int64_t r, i, j, ok = 0;
    rf_type_row_bytes(type, ne0, &rb1);
    rf_type_row_bytes(type, d, &rb2);
    q1 = RF__NEW(uint8_t, rb1 * d), p1 = RF__NEW(uint8_t, rb1 * d), q2 = RF__NEW(uint8_t, rb2 * ne2), p2 = RF__NEW(uint8_t, rb2 * ne2);
    for (i = 0; i < ne0 * d; i++) w1[i] = frand();
    for (i = 0; i < d * ne2; i++) w2[i] = frand();
    for (i = 0; i < ne0; i++) xin[i] = frand() * 2.0f;
    for (i = 0; i < d; i++) x0[i] = frand() * 3.0f, nw[i] = frand() + 1.5f;
    for (r = 0; r < d; r++) rf_quantize(type, w1 + r * ne0, q1 + r * rb1, ne0), rf_dequantize(type, q1 + r * rb1, w1 + r * ne0, ne0);
    for (r = 0; r < ne2; r++) rf_quantize(type, w2 + r * d, q2 + r * rb2, d), rf_dequantize(type, q2 + r * rb2, w2 + r * d, d);
    if (rf_hip_pack((int)type, q1, ne0, d, p1) || rf_hip_pack((int)type, q2, d, ne2, p2)) goto done;
    dw1 = dev_copy(&bb[0], p1, rb1 * d), dw2 = dev_copy(&bb[1], p2, rb2 * ne2), dxin = dev_copy(&bb[2], xin, sizeof(float) * ne0);
    dxa = dev_copy(&bb[3], x0, sizeof(float) * d), dxb = dev_copy(&bb[4], x0, sizeof(float) * d), dnw = dev_copy(&bb[5], nw, sizeof(float) * d);
    dact = dev_alloc(&bb[6], rf_hip_act_q8_bytes(ne0, 1)), dacta = dev_alloc(&bb[7], rf_hip_act_q8_bytes(d, 1));
    dactb = dev_alloc(&bb[8], rf_hip_act_q8_bytes(d, 1)), dss = dev_alloc(&bb[9], sizeof(float) * (d / 32));
    dza = dev_alloc(&bb[10], sizeof(float) * ne2), dzb = dev_alloc(&bb[11], sizeof(float) * ne2);
    dh1 = dev_alloc(&bb[12], ab), dh2 = dev_alloc(&bb[13], ab);
    if (!dw1 || !dw2 || !dxin || !dxa || !dxb || !dnw || !dact || !dacta || !dactb || !dss || !dza || !dzb || !dh1 || !dh2 ||
        rf_hip_act_q8(G, 0, (const float *)dxin, ne0, NULL, 0.0f, ne0, 1, dact) ||
        /* two launches and the norm's */
        rf_hip_gemv_q8(G, (int)type, dw1, ne0, d, dact, (float *)dxa, d, 1, 1, NULL, 0.0f) ||
        rf_hip_act_q8(G, 0, (const float *)dxa, d, (const float *)dnw, eps, d, 1, dacta) ||
        rf_hip_gemv_q8(G, (int)type, dw2, d, ne2, dacta, (float *)dza, ne2, 1, 0, NULL, 0.0f) ||
        /* fused */
        rf_hip_gemv_q8_norm(G, (int)type, dw1, ne0, d, dact, (float *)dxb, (const float *)dnw, dactb, (float *)dss) ||
        rf_hip_gemv_q8(G, (int)type, dw2, d, ne2, dactb, (float *)dzb, ne2, 1, 0, (const float *)dss, eps) ||
        rf_hip_glu_q8(G, 0, (const float *)dzb, ne2, (const float *)dzb + nff, ne2, nff, 1, 0, dh1) ||
        rf_hip_gemv_q8_glu(G, (int)type, dw2, d, nff, dactb, (const float *)dss, eps, 0, dh2) ||
        rf_hip_download(G, ya, dxa, sizeof(float) * d) || rf_hip_download(G, yb, dxb, sizeof(float) * d) ||
        rf_hip_download(G, za, dza, sizeof(float) * ne2) || rf_hip_download(G, zb, dzb, sizeof(float) * ne2) ||
        rf_hip_download(G, ha, dh1, ab) || rf_hip_download(G, hb, dh2, ab))
        goto done;
    *e_res = *e_fused = *e_two = 0;
    for (r = 0; r < d; r++) {
        double mag = fabs((double)x0[r]);
        for (i = 0; i < ne0; i++) mag += fabs((double)w1[r * ne0 + i] * xin[i]);
        if (fabs((double)ya[r] - yb[r]) / mag > *e_res) *e_res = fabs((double)ya[r] - yb[r]) / mag;
    }
    for (j = 0; j < 2; j++) { /* the exact product after the RMSNorm of each path's residual */
        const float *y = j ? yb : ya, *z = j ? zb : za;
        double ss = 0, *e = j ? e_fused : e_two;
        double *f = RF__NEW(double, d), *amax = RF__NEW(double, d / 32);
        for (i = 0; i < d; i++) ss += (double)y[i] * y[i];
        for (i = 0; i < d; i++) f[i] = y[i] / sqrt(ss / (double)d + eps) * nw[i];
        for (i = 0; i < d; i++)
            if (i % 32 == 0 || fabs(f[i]) > amax[i / 32]) amax[i / 32] = fabs(f[i]);
        for (r = 0; r < ne2; r++) {
            double exact = 0, bound = 0, mag = 0;
            for (i = 0; i < d; i++) {
                exact += (double)w2[r * d + i] * f[i];
                bound += fabs((double)w2[r * d + i]) * amax[i / 32] / 200.0;
                mag += fabs((double)w2[r * d + i] * f[i]);
            }
            bound += 1e-5 * mag;
            if (fabs(z[r] - exact) / bound > *e) *e = fabs(z[r] - exact) / bound;
        }
        RF_FREE(f), RF_FREE(amax);
    }
    ok = memcmp(ha, hb, ab) == 0;
done:
    for (i = 0; i < 14; i++) rf_hip_buf_free(bb[i]);
    RF_FREE(w1), RF_FREE(w2), RF_FREE(xin), RF_FREE(x0), RF_FREE(nw), RF_FREE(ya), RF_FREE(yb), RF_FREE(za), RF_FREE(zb);
    RF_FREE(q1), RF_FREE(p1), RF_FREE(q2), RF_FREE(p2), RF_FREE(ha), RF_FREE(hb);
    return (int)ok;
}

static void test_gemv_q8_norm(void) {
    static const int64_t shapes[][3] = {{32, 32, 32}, {256, 96, 64}, {1024, 352, 96}, {11008, 256, 32}, {4096, 4096, 32}}; /* {inputs, d, nff} */
    static const rf_type types[] = {RF_TYPE_Q4_0, RF_TYPE_Q8_0};
    size_t ti, si;
    for (ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            double er = 1e30, ef = 1e30, e2 = 1e30;
            const int same = gemv_q8_norm_case(types[ti], shapes[si][0], shapes[si][1], shapes[si][2], &er, &ef, &e2);
            CHECKF(same && er < 1e-6 && ef <= 1.0 && e2 <= 1.0,
                   "gemv_q8_norm %s %lld -> %lld -> %lld: glu bytes %s, residual err %.3g, next product err %.3g of the bound (two launches: %.3g)",
                   rf_type_name(types[ti]), (long long)shapes[si][0], (long long)shapes[si][1], 2 * (long long)shapes[si][2],
                   same ? "equal" : "differ", er, ef, e2);
        }
    /* what it cannot do: K-quant weights, outputs not whole 32-blocks; sums of squares for 2 tokens */
    CHECK(rf_hip_gemv_q8_norm(G, RF_TYPE_Q4_K, NULL, 256, 32, NULL, NULL, NULL, NULL, NULL) != 0);
    CHECK(rf_hip_gemv_q8_norm(G, RF_TYPE_Q4_0, NULL, 256, 48, NULL, NULL, NULL, NULL, NULL) != 0);
    CHECK(rf_hip_gemv_q8(G, RF_TYPE_Q4_0, NULL, 256, 32, NULL, NULL, 32, 2, 0, (const float *)1, 1e-5f) != 0);
}

/* ----- GEMM on the matrix cores: y = W x in f16 with f32 sums. Two references, both double sums
   of the CPU's rf_dequantize rows against x: (1) with every weight and activation rounded to
   f16 first (rf_fp32_to_fp16), which leaves only the order of the f32 sums -- bound 1e-4 of
   sum |w x| (rarely a weight's f32 value differs by an ulp before the f16 rounding, e.g. by a
   fused multiply-add, and rounds to the neighbouring f16); (2) exact, which adds the f16
   rounding of both operands: each product within (1 + 2^-11)^2 - 1 < 1e-3 of its value, so the
   sum within 1e-3 of sum |w x| plus the f32 sums -- bound 2e-3. */
static void gemm_case(rf_type type, int packed, int64_t ne0, int64_t ne1, int64_t nt, int accumulate, double *e16, double *eex) {
    uint64_t rb = 0;
    float *w = RF__NEW(float, ne0 * ne1), *x = RF__NEW(float, ne0 * nt), *y = RF__NEW(float, ne1 * nt),
          *y0 = RF__NEW(float, ne1 * nt), *row = RF__NEW(float, ne0 * ne1), *x16 = RF__NEW(float, ne0 * nt);
    uint8_t *wq, *up;
    rf_hip_buf *bw = NULL, *bx = NULL, *by = NULL, *bh = NULL;
    void *dw, *dx, *dy, *dh;
    int64_t r, t, i;
    *e16 = *eex = 1e30;
    rf_type_row_bytes(type, ne0, &rb);
    wq = RF__NEW(uint8_t, rb * ne1);
    up = RF__NEW(uint8_t, rb * ne1);
    for (i = 0; i < ne0 * ne1; i++) w[i] = frand();
    for (i = 0; i < ne0 * nt; i++) x[i] = frand() * 2.0f;
    for (i = 0; i < ne1 * nt; i++) y0[i] = accumulate ? frand() * 10.0f : 0.0f;
    for (r = 0; r < ne1; r++) rf_quantize(type, w + r * ne0, wq + r * rb, ne0);
    for (r = 0; r < ne1; r++) rf_dequantize(type, wq + r * rb, row + r * ne0, ne0);
    if (packed && rf_hip_pack((int)type, wq, ne0, ne1, up)) goto done;
    dw = dev_copy(&bw, packed ? up : wq, rb * ne1);
    dx = dev_copy(&bx, x, sizeof(float) * ne0 * nt);
    dy = dev_copy(&by, y0, sizeof(float) * ne1 * nt);
    dh = dev_alloc(&bh, sizeof(uint16_t) * ne0 * nt); /* the f16 input */
    if (!dw || !dx || !dy || !dh || rf_hip_gemm_input(G, (uint16_t *)dh, (const float *)dx, ne0, ne0, nt) ||
        rf_hip_gemm(G, (int)type, packed, dw, rb, ne0, ne1, (const uint16_t *)dh, ne0, (float *)dy, ne1, nt, accumulate) ||
        rf_hip_download(G, y, dy, sizeof(float) * ne1 * nt))
        goto done;
    *e16 = *eex = 0;
    for (i = 0; i < ne0 * ne1; i++) w[i] = rf_fp16_to_fp32(rf_fp32_to_fp16(row[i])); /* w: the f16-rounded weights now */
    for (i = 0; i < ne0 * nt; i++) x16[i] = rf_fp16_to_fp32(rf_fp32_to_fp16(x[i]));
    for (t = 0; t < nt; t++)
        for (r = 0; r < ne1; r++) {
            double s16 = y0[t * ne1 + r], sex = s16, mag = fabs(s16);
            for (i = 0; i < ne0; i++) {
                const double a = row[r * ne0 + i], b = x[t * ne0 + i];
                s16 += (double)w[r * ne0 + i] * x16[t * ne0 + i];
                sex += a * b;
                mag += fabs(a * b);
            }
            if (fabs(y[t * ne1 + r] - s16) / (mag + 1e-30) > *e16) *e16 = fabs(y[t * ne1 + r] - s16) / (mag + 1e-30);
            if (fabs(y[t * ne1 + r] - sex) / (mag + 1e-30) > *eex) *eex = fabs(y[t * ne1 + r] - sex) / (mag + 1e-30);
        }
done:
    rf_hip_buf_free(bw), rf_hip_buf_free(bx), rf_hip_buf_free(by), rf_hip_buf_free(bh);
    RF_FREE(w), RF_FREE(x), RF_FREE(y), RF_FREE(y0), RF_FREE(row), RF_FREE(wq), RF_FREE(up), RF_FREE(x16);
}

static void test_gemm(void) {
    static const int64_t shapes[][3] = {{256, 1, 1}, {256, 17, 33}, {512, 131, 129}, {1024, 128, 128}, {4096, 64, 300},
                                        {11008, 40, 70}};
    static const rf_type gguf_rows[] = {RF_TYPE_F32, RF_TYPE_F16, RF_TYPE_BF16, RF_TYPE_Q5_0, RF_TYPE_Q4_1, RF_TYPE_Q5_K,
                                        RF_TYPE_IQ4_XS, RF_TYPE_Q4_K};
    const int kind = rf_hip_mma_kind(G);
    size_t ti, si;
    printf("  matrix cores of this device's code: %d (0 SIMT, 1 mma.sync, 2 MFMA, 3 WMMA)\n", kind);
    CHECKF(kind >= 0, "rf_hip_mma_kind answers (%d)", kind);
    for (ti = 0; ti < sizeof q8_types / sizeof q8_types[0] + sizeof gguf_rows / sizeof gguf_rows[0]; ti++) {
        const int packed = ti < sizeof q8_types / sizeof q8_types[0];
        const rf_type ty = packed ? q8_types[ti] : gguf_rows[ti - sizeof q8_types / sizeof q8_types[0]];
        CHECKF(rf_hip_gemm_type((int)ty, packed), "gemm has a kernel for %s (%s)", rf_type_name(ty), packed ? "packed" : "GGUF rows");
        for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            int64_t ne0 = shapes[si][0];
            double a16, aex, b16, bex;
            if (ne0 % rf_type_get(ty)->block_size) ne0 = ne0 / 256 * 256;
            gemm_case(ty, packed, ne0, shapes[si][1], shapes[si][2], 0, &a16, &aex);
            gemm_case(ty, packed, ne0, shapes[si][1], shapes[si][2], 1, &b16, &bex);
            CHECKF(a16 < 1e-4 && b16 < 1e-4 && aex < 2e-3 && bex < 2e-3,
                   "gemm %s%s %lldx%lld x %lld tokens: err vs f16-rounded %.3g / %.3g (accumulating), vs exact %.3g / %.3g",
                   rf_type_name(ty), packed ? " packed" : "", (long long)ne0, (long long)shapes[si][1], (long long)shapes[si][2], a16, b16,
                   aex, bex);
        }
    }
    /* a bigger matrix: 66 x 5 blocks, more than the CUs hold at once */
    for (ti = 0; ti < sizeof q8_types / sizeof q8_types[0]; ti++) {
        double a16, aex;
        gemm_case(q8_types[ti], 1, 256, 8448, 640, 0, &a16, &aex);
        CHECKF(a16 < 1e-4 && aex < 2e-3, "gemm %s packed 256x8448 x 640 tokens: err vs f16-rounded %.3g, vs exact %.3g",
               rf_type_name(q8_types[ti]), a16, aex);
    }
    CHECK(!rf_hip_gemm_type((int)RF_TYPE_Q5_0, 1) && rf_hip_gemm_type((int)RF_TYPE_Q6_K, 1));
}

/* A captured graph replays its launches: a kernel reading its position from device memory,
   replayed at two positions, equals direct launches at those positions (tolerance 0). */
static void test_graph_replay(void) {
    const int64_t hd = 64, nh = 4, n = hd * nh;
    float *x = RF__NEW(float, n), *a = RF__NEW(float, n), *b = RF__NEW(float, n);
    rf_hip_buf *bx = NULL, *bp = NULL;
    float *dx;
    int32_t *dp, pos;
    rf_hip_graph *gr = NULL;
    int64_t i, k;
    for (i = 0; i < n; i++) x[i] = frand();
    dx = (float *)dev_copy(&bx, x, sizeof(float) * n);
    dp = (int32_t *)dev_alloc(&bp, sizeof(int32_t));
    REQUIRE(dx && dp);
    REQUIRE(rf_hip_capture_begin(G) == 0);
    REQUIRE(rf_hip_rope(G, dx, n, 1, nh, hd, hd, 0, dp, 10000.0f, 1.0f, NULL, 0) == 0);
    REQUIRE(rf_hip_capture_end(G, &gr) == 0 && gr);
    for (k = 0; k < 2; k++) {
        pos = k ? 4001 : 7;
        REQUIRE(rf_hip_upload(G, dx, x, sizeof(float) * n) == 0);
        REQUIRE(rf_hip_upload_async(G, dp, &pos, sizeof pos) == 0);
        REQUIRE(rf_hip_graph_launch(G, gr) == 0);
        REQUIRE(rf_hip_download(G, a, dx, sizeof(float) * n) == 0);
        REQUIRE(rf_hip_upload(G, dx, x, sizeof(float) * n) == 0);
        REQUIRE(rf_hip_rope(G, dx, n, 1, nh, hd, hd, pos, NULL, 10000.0f, 1.0f, NULL, 0) == 0);
        REQUIRE(rf_hip_download(G, b, dx, sizeof(float) * n) == 0);
        CHECKF(!memcmp(a, b, sizeof(float) * n) && memcmp(a, x, sizeof(float) * n), "graph replay at position %d == direct launch",
               (int)pos);
    }
    rf_hip_graph_free(gr);
    rf_hip_buf_free(bx), rf_hip_buf_free(bp);
    RF_FREE(x), RF_FREE(a), RF_FREE(b);
}

/* rope_kv (q, k, v stacked) == rope on the q heads, rope on the k heads, kv_store: the rotated q
   and the cache bytes identical (tolerance 0), normal and NeoX, 3 tokens at position 5. */
static void test_rope_kv(void) {
    const int64_t nt = 3, nh = 4, nkv = 2, hd = 64, ld = (nh + 2 * nkv) * hd, kvd = nkv * hd, nctx = 16;
    float *x = RF__NEW(float, nt * ld), *a = RF__NEW(float, nt * ld), *b = RF__NEW(float, nt * ld);
    uint16_t *ca = RF__NEW(uint16_t, 2 * nctx * kvd), *cb = RF__NEW(uint16_t, 2 * nctx * kvd);
    rf_hip_buf *bx = NULL, *bc = NULL;
    float *dx;
    uint16_t *kc;
    int64_t i;
    int neox;
    for (i = 0; i < nt * ld; i++) x[i] = frand();
    dx = (float *)dev_alloc(&bx, sizeof(float) * nt * ld);
    kc = (uint16_t *)dev_alloc(&bc, sizeof(uint16_t) * 2 * nctx * kvd);
    REQUIRE(dx && kc);
    for (neox = 0; neox < 2; neox++) {
        REQUIRE(rf_hip_upload(G, dx, x, sizeof(float) * nt * ld) == 0 && rf_hip_memset(G, kc, 0, sizeof(uint16_t) * 2 * nctx * kvd) == 0);
        REQUIRE(rf_hip_rope_kv(G, dx, ld, nt, nh, nkv, hd, hd, 5, NULL, 10000.0f, 1.0f, NULL, neox, kc, kc + nctx * kvd) == 0);
        REQUIRE(rf_hip_download(G, a, dx, sizeof(float) * nt * ld) == 0 && rf_hip_download(G, ca, kc, sizeof(uint16_t) * 2 * nctx * kvd) == 0);
        REQUIRE(rf_hip_upload(G, dx, x, sizeof(float) * nt * ld) == 0 && rf_hip_memset(G, kc, 0, sizeof(uint16_t) * 2 * nctx * kvd) == 0);
        REQUIRE(rf_hip_rope(G, dx, ld, nt, nh, hd, hd, 5, NULL, 10000.0f, 1.0f, NULL, neox) == 0);
        REQUIRE(rf_hip_rope(G, dx + nh * hd, ld, nt, nkv, hd, hd, 5, NULL, 10000.0f, 1.0f, NULL, neox) == 0);
        REQUIRE(rf_hip_kv_store(G, kc, kc + nctx * kvd, dx + nh * hd, dx + nh * hd + kvd, ld, kvd, 5, NULL, nt) == 0);
        REQUIRE(rf_hip_download(G, b, dx, sizeof(float) * nt * ld) == 0 && rf_hip_download(G, cb, kc, sizeof(uint16_t) * 2 * nctx * kvd) == 0);
        for (i = 0; i < nt; i++) CHECKF(!memcmp(a + i * ld, b + i * ld, sizeof(float) * nh * hd), "rope_kv %s: token %lld's q", neox ? "neox" : "normal", (long long)i);
        CHECKF(!memcmp(ca, cb, sizeof(uint16_t) * 2 * nctx * kvd), "rope_kv %s: the k and v cache", neox ? "neox" : "normal");
    }
    rf_hip_buf_free(bx), rf_hip_buf_free(bc);
    RF_FREE(x), RF_FREE(a), RF_FREE(b), RF_FREE(ca), RF_FREE(cb);
}

/* Plain types have no block: odd row lengths and tails (tolerance as above). */
static void test_gemv_odd_rows(void) {
    static const int64_t shapes[][3] = {{1, 3, 1}, {33, 5, 2}, {1031, 7, 9}, {4099, 3, 1}};
    size_t si, ti;
    for (ti = 0; ti < 3; ti++)
        for (si = 0; si < 4; si++) {
            double e = gemv_case(gemv_types[ti], shapes[si][0], shapes[si][1], shapes[si][2], 1);
            CHECKF(e < 1e-5, "%s ne0 %lld: err %.3g", rf_type_name(gemv_types[ti]), (long long)shapes[si][0], e);
        }
}

/* q8 activation rounding: bit-identical to rf_quantize + rf_dequantize (tolerance 0). */
static void test_quant_act_exact(void) {
    static const rf_type acts[] = {RF_TYPE_Q8_0, RF_TYPE_Q8_K};
    const int64_t n = 1024, rows = 3;
    float *x = RF__NEW(float, n * rows), *y = RF__NEW(float, n * rows), *ref = RF__NEW(float, n);
    uint8_t *q = RF__NEW(uint8_t, 2 * n);
    rf_hip_buf *bx = NULL, *by = NULL;
    float *dx, *dy;
    size_t a;
    int64_t i, r, bad = 0;
    for (i = 0; i < n * rows; i++) x[i] = frand() * (i % 97 == 0 ? 100.0f : 1.0f);
    dx = (float *)dev_copy(&bx, x, sizeof(float) * n * rows);
    dy = (float *)dev_alloc(&by, sizeof(float) * n * rows);
    REQUIRE(dx && dy);
    for (a = 0; a < 2; a++) {
        REQUIRE(rf_hip_quant_act(G, (int)acts[a], dx, n, dy, n, rows) == 0);
        REQUIRE(rf_hip_download(G, y, dy, sizeof(float) * n * rows) == 0);
        for (r = 0; r < rows; r++) {
            rf_quantize(acts[a], x + r * n, q, n);
            rf_dequantize(acts[a], q, ref, n);
            for (i = 0; i < n; i++) bad += y[r * n + i] != ref[i];
        }
        CHECKF(bad == 0, "%s: %lld values differ", rf_type_name(acts[a]), (long long)bad);
    }
    rf_hip_buf_free(bx), rf_hip_buf_free(by);
    RF_FREE(x), RF_FREE(y), RF_FREE(ref), RF_FREE(q);
}

static double max_rel(const float *a, const float *b, int64_t n) {
    double mx = 0, err = 0;
    int64_t i;
    for (i = 0; i < n; i++) mx = fabs(b[i]) > mx ? fabs(b[i]) : mx;
    for (i = 0; i < n; i++) err = fabs(a[i] - b[i]) > err ? fabs(a[i] - b[i]) : err;
    return err / (mx > 0 ? mx : 1);
}

/* RMSNorm rows of 1, 7, 4099 (tolerance 1e-6 of max |out|) */
static void test_rmsnorm(void) {
    static const int64_t ns[] = {1, 7, 64, 4099};
    size_t k;
    for (k = 0; k < 4; k++) {
        const int64_t n = ns[k], rows = 5;
        float *x = RF__NEW(float, n * rows), *w = RF__NEW(float, n), *y = RF__NEW(float, n * rows), *ref = RF__NEW(float, n * rows);
        rf_hip_buf *bx = NULL, *bw = NULL;
        float *dx, *dw;
        int64_t i;
        for (i = 0; i < n * rows; i++) x[i] = frand() * 3;
        for (i = 0; i < n; i++) w[i] = frand();
        for (i = 0; i < rows; i++) rf__rmsnorm(ref + i * n, x + i * n, w, n, 1e-6f);
        dx = (float *)dev_copy(&bx, x, sizeof(float) * n * rows);
        dw = (float *)dev_copy(&bw, w, sizeof(float) * n);
        REQUIRE(dx && dw);
        REQUIRE(rf_hip_rmsnorm(G, dx, dx, dw, n, rows, 1e-6f) == 0); /* in place, as the forward pass uses it */
        REQUIRE(rf_hip_download(G, y, dx, sizeof(float) * n * rows) == 0);
        CHECKF(max_rel(y, ref, n * rows) < 1e-6, "n %lld: err %.3g", (long long)n, max_rel(y, ref, n * rows));
        rf_hip_buf_free(bx), rf_hip_buf_free(bw);
        RF_FREE(x), RF_FREE(w), RF_FREE(y), RF_FREE(ref);
    }
}

/* RoPE, normal and NeoX, partial rotation, llama3 factors, positions near 1000 (tolerance 1e-5) */
static void test_rope(void) {
    int neox, ff;
    for (neox = 0; neox < 2; neox++)
        for (ff = 0; ff < 2; ff++) {
            const int64_t nt = 5, nh = 3, hd = 64, n_rot = 32, ld = nh * hd + 7;
            float *x = RF__NEW(float, ld * nt), *y = RF__NEW(float, ld * nt), fac[16];
            rf_hip_buf *bx = NULL, *bf = NULL;
            float *dx, *df = NULL;
            int64_t i;
            for (i = 0; i < ld * nt; i++) x[i] = frand();
            for (i = 0; i < 16; i++) fac[i] = 1.0f + (float)i * 0.5f;
            dx = (float *)dev_copy(&bx, x, sizeof(float) * ld * nt);
            if (ff) df = (float *)dev_copy(&bf, fac, sizeof fac);
            REQUIRE(dx && (!ff || df));
            REQUIRE(rf_hip_rope(G, dx, ld, nt, nh, hd, n_rot, 997, NULL, 500000.0f, 0.5f, df, neox) == 0);
            REQUIRE(rf_hip_download(G, y, dx, sizeof(float) * ld * nt) == 0);
            for (i = 0; i < nt; i++)
                rf__rope(x + i * ld, nh, NULL, 0, hd, n_rot, (int32_t)(997 + i), 500000.0f, 0.5f, ff ? fac : NULL, 1.0f, neox);
            CHECKF(max_rel(y, x, ld * nt) < 1e-5, "neox %d factors %d: err %.3g", neox, ff, max_rel(y, x, ld * nt));
            rf_hip_buf_free(bx), rf_hip_buf_free(bf);
            RF_FREE(x), RF_FREE(y);
        }
}

/* Attention + KV append: 1 query at 37 and at 1000, 7 queries at 100 with a window of 20, 512
   queries from 0; GQA 8 heads over 2; head dims 64, 80 (not a multiple of the wave), 128, 256.
   The reference is forward.c's loop on the f16-rounded cache. Tolerance 2e-5 of max |out|. Where
   hd is whole 32-blocks, the q8_0 output the kernel can make as well is compared byte for byte
   with rf_hip_act_q8 of its float output. */
static void attn_case(int64_t nt, int32_t pos0, int64_t window, int64_t hd, int flash) {
    const int64_t nh = 8, nkv = 2, kvd = nkv * hd, np = pos0 + nt, group = nh / nkv;
    const float scale = 1.0f / sqrtf((float)hd);
    float *q = RF__NEW(float, nt * nh * hd), *k = RF__NEW(float, np * kvd), *v = RF__NEW(float, np * kvd);
    float *out = RF__NEW(float, nt * nh * hd), *ref = RF__NEW(float, nt * nh * hd), *att = RF__NEW(float, np);
    rf_hip_buf *b = NULL;
    float *dq, *dk, *dv, *dout;
    uint16_t *kc, *vc;
    int64_t i, t, h, s, j;
    for (i = 0; i < nt * nh * hd; i++) q[i] = frand() * 2;
    for (i = 0; i < np * kvd; i++) k[i] = frand() * 2, v[i] = frand();
    const size_t abytes = rf_hip_act_q8_bytes(nh * hd, nt);
    uint8_t *act = NULL, *act2 = NULL;
    REQUIRE(rf_hip_buf_new(G, sizeof(float) * (size_t)(nt * nh * hd * 2 + 2 * np * kvd) + 2 * sizeof(uint16_t) * (size_t)(np * kvd) + 2 * abytes + 4096, &b) == 0);
    if (!flash && hd % 32 == 0) {
        act = (uint8_t *)rf_hip_buf_alloc(b, abytes, 256);
        act2 = (uint8_t *)rf_hip_buf_alloc(b, abytes, 256);
        REQUIRE(act && act2);
    }
    dq = (float *)rf_hip_buf_alloc(b, sizeof(float) * nt * nh * hd, 256);
    dout = (float *)rf_hip_buf_alloc(b, sizeof(float) * nt * nh * hd, 256);
    dk = (float *)rf_hip_buf_alloc(b, sizeof(float) * np * kvd, 256);
    dv = (float *)rf_hip_buf_alloc(b, sizeof(float) * np * kvd, 256);
    kc = (uint16_t *)rf_hip_buf_alloc(b, sizeof(uint16_t) * np * kvd, 256);
    vc = (uint16_t *)rf_hip_buf_alloc(b, sizeof(uint16_t) * np * kvd, 256);
    REQUIRE(dq && dout && dk && dv && kc && vc);
    REQUIRE(rf_hip_upload(G, dq, q, sizeof(float) * nt * nh * hd) == 0);
    REQUIRE(rf_hip_upload(G, dk, k, sizeof(float) * np * kvd) == 0);
    REQUIRE(rf_hip_upload(G, dv, v, sizeof(float) * np * kvd) == 0);
    /* the cache in two appends: the history, then this batch */
    if (pos0 > 0) REQUIRE(rf_hip_kv_store(G, kc, vc, dk, dv, kvd, kvd, 0, NULL, pos0) == 0);
    REQUIRE(rf_hip_kv_store(G, kc, vc, dk + pos0 * kvd, dv + pos0 * kvd, kvd, kvd, pos0, NULL, nt) == 0);
    if (flash) REQUIRE(rf_hip_flash_attention(G, dout, dq, nh * hd, kc, vc, nt, nh, nkv, hd, pos0, window, scale) == 0);
    else REQUIRE(rf_hip_attention(G, dout, dq, nh * hd, kc, vc, nt, nh, nkv, hd, pos0, NULL, window, scale, act) == 0);
    REQUIRE(rf_hip_download(G, out, dout, sizeof(float) * nt * nh * hd) == 0);
    if (act) { /* the fused q8_0 output: byte for byte what rf_hip_act_q8 makes of the float output */
        uint8_t *h1 = RF__NEW(uint8_t, abytes), *h2 = RF__NEW(uint8_t, abytes);
        REQUIRE(rf_hip_act_q8(G, 0, dout, nh * hd, NULL, 0.0f, nh * hd, nt, act2) == 0);
        REQUIRE(rf_hip_download(G, h1, act, abytes) == 0 && rf_hip_download(G, h2, act2, abytes) == 0);
        CHECKF(!memcmp(h1, h2, abytes), "%lld queries at %d, hd %lld: fused q8_0 output differs from rf_hip_act_q8's", (long long)nt,
               (int)pos0, (long long)hd);
        RF_FREE(h1), RF_FREE(h2);
    }
    for (i = 0; i < np * kvd; i++) k[i] = rf_fp16_to_fp32(rf_fp32_to_fp16(k[i])), v[i] = rf_fp16_to_fp32(rf_fp32_to_fp16(v[i]));
    for (t = 0; t < nt; t++) {
        const int64_t p = pos0 + t, t0 = window > 0 ? RF__MAX(0, p - window + 1) : 0;
        for (h = 0; h < nh; h++) {
            const float *qh = q + (t * nh + h) * hd;
            float *o = ref + (t * nh + h) * hd;
            for (s = t0; s <= p; s++) {
                float dot = 0;
                for (j = 0; j < hd; j++) dot += qh[j] * k[s * kvd + (h / group) * hd + j];
                att[s] = dot * scale;
            }
            rf__softmax(att + t0, p - t0 + 1);
            memset(o, 0, sizeof(float) * hd);
            for (s = t0; s <= p; s++)
                for (j = 0; j < hd; j++) o[j] += att[s] * v[s * kvd + (h / group) * hd + j];
        }
    }
    CHECKF(max_rel(out, ref, nt * nh * hd) < (flash ? 2e-3 : 2e-5), "%s%lld queries at %d, window %lld, hd %lld: err %.3g",
           flash ? "flash: " : "", (long long)nt, (int)pos0, (long long)window, (long long)hd, max_rel(out, ref, nt * nh * hd));
    rf_hip_buf_free(b);
    RF_FREE(q), RF_FREE(k), RF_FREE(v), RF_FREE(out), RF_FREE(ref), RF_FREE(att);
}
static void test_attention(void) {
    attn_case(1, 37, 0, 64, 0);
    attn_case(1, 1000, 0, 128, 0); /* several chunks of positions per wave */
    attn_case(1, 0, 0, 64, 0);
    attn_case(7, 100, 20, 80, 0);
    attn_case(512, 0, 0, 64, 0);
    attn_case(512, 0, 100, 128, 0);
    attn_case(3, 5, 0, 256, 0);
}

/* One decode token's RoPE, cache append and attention in one launch (rf_hip_attention_rope)
   against rf_hip_rope_kv + rf_hip_attention on the same row and history: the caches byte for
   byte, the outputs within 1e-5 of max |out| (position p is scored last instead of in its tile:
   float order only). Normal and NeoX, all or part of the head rotated, llama3-style factors, a
   window, the first position, several tiles of history, the position read on the device. */
static void rope_attn_case(int64_t hd, int64_t n_rot, int neox, int32_t pos, int64_t window, int factors, int on_device) {
    const int64_t nh = 8, nkv = 2, kvd = nkv * hd, ld = nh * hd + 2 * kvd, np = pos + 1;
    const float scale = 1.0f / sqrtf((float)hd), base = 10000.0f, fs = 0.75f;
    float *x = RF__NEW(float, ld), *hist = RF__NEW(float, 2 * np * kvd + 1), *oa = RF__NEW(float, nh * hd), *ob = RF__NEW(float, nh * hd);
    float fac[128], *xb = RF__NEW(float, ld);
    uint16_t *ca = RF__NEW(uint16_t, 2 * np * kvd), *cb = RF__NEW(uint16_t, 2 * np * kvd);
    rf_hip_buf *b = NULL;
    float *dxa, *dxb, *dh, *doa, *dob, *dfac;
    uint16_t *kca, *kcb;
    int32_t *dpos;
    int64_t i;
    for (i = 0; i < ld; i++) x[i] = frand() * 2;
    for (i = 0; i < 2 * np * kvd; i++) hist[i] = frand();
    for (i = 0; i < 128; i++) fac[i] = 1.0f + (float)(i % 7);
    REQUIRE(rf_hip_buf_new(G, sizeof(float) * (size_t)(2 * ld + 2 * np * kvd + 2 * nh * hd + 128) + 4 * sizeof(uint16_t) * (size_t)(np * kvd) + 8 * 256, &b) == 0);
    dxa = (float *)rf_hip_buf_alloc(b, sizeof(float) * ld, 256), dxb = (float *)rf_hip_buf_alloc(b, sizeof(float) * ld, 256);
    dh = (float *)rf_hip_buf_alloc(b, sizeof(float) * 2 * np * kvd, 256);
    doa = (float *)rf_hip_buf_alloc(b, sizeof(float) * nh * hd, 256), dob = (float *)rf_hip_buf_alloc(b, sizeof(float) * nh * hd, 256);
    dfac = (float *)rf_hip_buf_alloc(b, sizeof(float) * 128, 256);
    kca = (uint16_t *)rf_hip_buf_alloc(b, 2 * sizeof(uint16_t) * np * kvd, 256), kcb = (uint16_t *)rf_hip_buf_alloc(b, 2 * sizeof(uint16_t) * np * kvd, 256);
    dpos = (int32_t *)rf_hip_buf_alloc(b, sizeof(int32_t), 256);
    REQUIRE(dxa && dxb && dh && doa && dob && dfac && kca && kcb && dpos);
    REQUIRE(rf_hip_upload(G, dxa, x, sizeof(float) * ld) == 0 && rf_hip_upload(G, dxb, x, sizeof(float) * ld) == 0);
    REQUIRE(rf_hip_upload(G, dh, hist, sizeof(float) * 2 * np * kvd) == 0 && rf_hip_upload(G, dfac, fac, sizeof fac) == 0);
    REQUIRE(rf_hip_upload(G, dpos, &pos, sizeof pos) == 0);
    REQUIRE(rf_hip_memset(G, kca, 0, 2 * sizeof(uint16_t) * np * kvd) == 0 && rf_hip_memset(G, kcb, 0, 2 * sizeof(uint16_t) * np * kvd) == 0);
    if (pos > 0) {
        REQUIRE(rf_hip_kv_store(G, kca, kca + np * kvd, dh, dh + np * kvd, kvd, kvd, 0, NULL, pos) == 0);
        REQUIRE(rf_hip_kv_store(G, kcb, kcb + np * kvd, dh, dh + np * kvd, kvd, kvd, 0, NULL, pos) == 0);
    }
    REQUIRE(rf_hip_rope_kv(G, dxa, ld, 1, nh, nkv, hd, n_rot, pos, NULL, base, fs, factors ? dfac : NULL, neox, kca, kca + np * kvd) == 0);
    REQUIRE(rf_hip_attention(G, doa, dxa, ld, kca, kca + np * kvd, 1, nh, nkv, hd, pos, NULL, window, scale, NULL) == 0);
    REQUIRE(rf_hip_attention_rope(G, dob, dxb, kcb, kcb + np * kvd, nh, nkv, hd, n_rot, on_device ? 0 : pos, on_device ? dpos : NULL,
                                  base, fs, factors ? dfac : NULL, neox, window, scale, NULL) == 0);
    REQUIRE(rf_hip_download(G, oa, doa, sizeof(float) * nh * hd) == 0 && rf_hip_download(G, ob, dob, sizeof(float) * nh * hd) == 0);
    REQUIRE(rf_hip_download(G, ca, kca, 2 * sizeof(uint16_t) * np * kvd) == 0 && rf_hip_download(G, cb, kcb, 2 * sizeof(uint16_t) * np * kvd) == 0);
    REQUIRE(rf_hip_download(G, xb, dxb, sizeof(float) * ld) == 0);
    CHECKF(!memcmp(ca, cb, 2 * sizeof(uint16_t) * np * kvd), "hd %lld rot %lld neox %d at %d: the k and v cache differ", (long long)hd,
           (long long)n_rot, neox, (int)pos);
    CHECKF(max_rel(ob, oa, nh * hd) < 1e-5, "hd %lld rot %lld neox %d at %d window %lld: err %.3g", (long long)hd, (long long)n_rot,
           neox, (int)pos, (long long)window, max_rel(ob, oa, nh * hd));
    CHECK(!memcmp(x, xb, sizeof(float) * ld)); /* the row is only read */
    rf_hip_buf_free(b);
    RF_FREE(x), RF_FREE(hist), RF_FREE(oa), RF_FREE(ob), RF_FREE(xb), RF_FREE(ca), RF_FREE(cb);
}
static void test_attention_rope(void) {
    rope_attn_case(128, 128, 0, 37, 0, 0, 0);
    rope_attn_case(128, 128, 1, 0, 0, 0, 1);
    rope_attn_case(64, 32, 1, 300, 100, 1, 0);
    rope_attn_case(64, 64, 0, 700, 0, 1, 1);
    rope_attn_case(80, 80, 0, 5, 0, 0, 0);
}

/* The matrix-core prefill attention against the same reference: q and the softmax weights are
   rounded to f16 (2^-11 relative), which moves the outputs by ~1e-3 of their largest at most for
   these scores (|q.k| scale < 3) -- bound 2e-3. Odd batches, history before the batch, windows
   that start inside a block, GQA, both head sizes. */
static void test_flash_attention(void) {
    attn_case(1, 0, 0, 64, 1);
    attn_case(37, 0, 0, 128, 1);
    attn_case(100, 61, 0, 128, 1);
    attn_case(512, 0, 0, 128, 1);
    attn_case(300, 7, 100, 64, 1);
    attn_case(200, 500, 33, 128, 1);
    CHECK(rf_hip_flash_attention(G, NULL, NULL, 4, NULL, NULL, 1, 8, 2, 80, 0, 0, 1.0f) != 0); /* hd 80: no kernel */
}

/* SwiGLU and GeGLU over 3 rows of 1001, strided inputs (tolerance 1e-6 of max |out|) */
static void test_glu(void) {
    int gelu;
    for (gelu = 0; gelu < 2; gelu++) {
        const int64_t n = 1001, rows = 3;
        float *gu = RF__NEW(float, 2 * n * rows), *h = RF__NEW(float, n * rows), *ref = RF__NEW(float, n * rows);
        rf_hip_buf *b = NULL, *bh = NULL;
        float *dg, *dh;
        int64_t i, r;
        for (i = 0; i < 2 * n * rows; i++) gu[i] = frand() * 6;
        for (r = 0; r < rows; r++)
            for (i = 0; i < n; i++)
                ref[r * n + i] = (gelu ? rf__gelu(gu[r * 2 * n + i]) : rf__silu(gu[r * 2 * n + i])) * gu[r * 2 * n + n + i];
        dg = (float *)dev_copy(&b, gu, sizeof(float) * 2 * n * rows);
        dh = (float *)dev_alloc(&bh, sizeof(float) * n * rows);
        REQUIRE(dg && dh);
        REQUIRE(rf_hip_glu(G, dh, n, dg, 2 * n, dg + n, 2 * n, n, rows, gelu) == 0);
        REQUIRE(rf_hip_download(G, h, dh, sizeof(float) * n * rows) == 0);
        CHECKF(max_rel(h, ref, n * rows) < 1e-6, "gelu %d: err %.3g", gelu, max_rel(h, ref, n * rows));
        rf_hip_buf_free(b), rf_hip_buf_free(bh);
        RF_FREE(gu), RF_FREE(h), RF_FREE(ref);
    }
}

/* Residual add, bias broadcast, and the MoE's weighted add (exact: one rounding each) */
static void test_add(void) {
    const int64_t n = 333, rows = 4;
    float y[333 * 4], x[333 * 4], w[8], ref[333 * 4], out[333 * 4];
    rf_hip_buf *b = NULL;
    float *dy, *dx, *dw;
    int64_t i;
    for (i = 0; i < n * rows; i++) y[i] = frand(), x[i] = frand();
    for (i = 0; i < 8; i++) w[i] = frand();
    REQUIRE(rf_hip_buf_new(G, 3 * sizeof y + 1024, &b) == 0);
    dy = (float *)rf_hip_buf_alloc(b, sizeof y, 256), dx = (float *)rf_hip_buf_alloc(b, sizeof x, 256), dw = (float *)rf_hip_buf_alloc(b, sizeof w, 256);
    REQUIRE(rf_hip_upload(G, dy, y, sizeof y) == 0 && rf_hip_upload(G, dx, x, sizeof x) == 0 && rf_hip_upload(G, dw, w, sizeof w) == 0);
    REQUIRE(rf_hip_add(G, dy, n, dx, n, n, rows, 1.0f, NULL, 0, 0) == 0);   /* y += x */
    REQUIRE(rf_hip_add(G, dy, n, dx, 0, n, rows, 1.0f, NULL, 0, 0) == 0);   /* y += x[0] (bias) */
    REQUIRE(rf_hip_add(G, dy, n, dx, n, n, rows, 1.0f, dw, 2, 1) == 0);     /* y += w[2r + 1] x */
    REQUIRE(rf_hip_download(G, out, dy, sizeof out) == 0);
    for (i = 0; i < n * rows; i++) {
        ref[i] = y[i] + x[i];
        ref[i] += x[i % n];
        ref[i] += w[2 * (i / n) + 1] * x[i];
    }
    CHECKF(max_rel(out, ref, n * rows) == 0, "err %.3g", max_rel(out, ref, n * rows));
    rf_hip_buf_free(b);
}

/* Embedding rows of f32 (odd width), q4_0, q6_K, times a scale (exact: the dequantization is
   the CPU's formula) */
static void test_embed(void) {
    static const rf_type types[] = {RF_TYPE_F32, RF_TYPE_F16, RF_TYPE_Q4_0, RF_TYPE_Q6_K, RF_TYPE_IQ4_XS};
    size_t k;
    for (k = 0; k < 5; k++) {
        const int64_t ne0 = types[k] == RF_TYPE_F32 ? 77 : 512, nv = 50, nt = 4;
        const int32_t ids[4] = {0, 49, 7, 7};
        uint64_t rb;
        float *w = RF__NEW(float, ne0 * nv), *out = RF__NEW(float, ne0 * nt), *ref = RF__NEW(float, ne0 * nt);
        uint8_t *wq;
        rf_hip_buf *bw = NULL, *bi = NULL, *bo = NULL;
        void *dw, *di, *dout;
        int64_t i;
        rf_type_row_bytes(types[k], ne0, &rb);
        wq = RF__NEW(uint8_t, rb * nv);
        for (i = 0; i < ne0 * nv; i++) w[i] = frand();
        for (i = 0; i < nv; i++) rf_quantize(types[k], w + i * ne0, wq + i * rb, ne0);
        for (i = 0; i < nt; i++) {
            int64_t j;
            rf_dequantize(types[k], wq + (uint64_t)ids[i] * rb, ref + i * ne0, ne0);
            for (j = 0; j < ne0; j++) ref[i * ne0 + j] *= 2.5f;
        }
        dw = dev_copy(&bw, wq, rb * nv), di = dev_copy(&bi, ids, sizeof ids), dout = dev_alloc(&bo, sizeof(float) * ne0 * nt);
        REQUIRE(dw && di && dout);
        REQUIRE(rf_hip_embed(G, (float *)dout, ne0, (int)types[k], dw, ne0, rb, (const int32_t *)di, nt, 2.5f) == 0);
        REQUIRE(rf_hip_download(G, out, dout, sizeof(float) * ne0 * nt) == 0);
        CHECKF(max_rel(out, ref, ne0 * nt) == 0, "%s: err %.3g", rf_type_name(types[k]), max_rel(out, ref, ne0 * nt));
        rf_hip_buf_free(bw), rf_hip_buf_free(bi), rf_hip_buf_free(bo);
        RF_FREE(w), RF_FREE(out), RF_FREE(ref), RF_FREE(wq);
    }
}

/* Softmax rows and the MoE router's top-k (identical ids; weights within 1e-6) */
static void test_softmax_moe(void) {
    const int64_t ne = 8, K = 2, rows = 5, n = 1000;
    float lg[5 * 8], p[5 * 8], wts[5 * 2], sm[1000 * 3], smref[1000 * 3];
    int32_t ids[5 * 2];
    rf_hip_buf *b = NULL;
    float *dl, *dw, *ds;
    int32_t *di;
    int64_t r, i, j, e;
    for (i = 0; i < ne * rows; i++) lg[i] = frand() * 4;
    lg[3 * ne + 2] = lg[3 * ne + 5] = 9.0f; /* a tie: the first index wins */
    for (i = 0; i < n * 3; i++) sm[i] = smref[i] = frand() * 30;
    REQUIRE(rf_hip_buf_new(G, sizeof lg + sizeof wts + sizeof ids + sizeof sm + 4096, &b) == 0);
    dl = (float *)rf_hip_buf_alloc(b, sizeof lg, 256), dw = (float *)rf_hip_buf_alloc(b, sizeof wts, 256);
    di = (int32_t *)rf_hip_buf_alloc(b, sizeof ids, 256), ds = (float *)rf_hip_buf_alloc(b, sizeof sm, 256);
    REQUIRE(rf_hip_upload(G, dl, lg, sizeof lg) == 0 && rf_hip_upload(G, ds, sm, sizeof sm) == 0);
    REQUIRE(rf_hip_moe_route(G, dl, ne, ne, K, rows, di, dw) == 0);
    REQUIRE(rf_hip_softmax(G, ds, n, n, 3) == 0);
    REQUIRE(rf_hip_download(G, ids, di, sizeof ids) == 0 && rf_hip_download(G, wts, dw, sizeof wts) == 0);
    REQUIRE(rf_hip_download(G, sm, ds, sizeof sm) == 0);
    for (i = 0; i < 3; i++) rf__softmax(smref + i * n, n);
    CHECKF(max_rel(sm, smref, 3 * n) < 1e-6, "softmax err %.3g", max_rel(sm, smref, 3 * n));
    for (r = 0; r < rows; r++) {
        int64_t chosen[2];
        float wsum = 0;
        memcpy(p + r * ne, lg + r * ne, sizeof(float) * ne);
        rf__softmax(p + r * ne, ne);
        for (j = 0; j < K; j++) {
            int64_t best = -1;
            for (e = 0; e < ne; e++) {
                int taken = 0;
                for (i = 0; i < j; i++) taken |= chosen[i] == e;
                if (!taken && (best < 0 || p[r * ne + e] > p[r * ne + best])) best = e;
            }
            chosen[j] = best;
            wsum += p[r * ne + best];
        }
        for (j = 0; j < K; j++) {
            CHECKF(ids[r * K + j] == chosen[j], "row %lld pick %lld: %d vs %lld", (long long)r, (long long)j, ids[r * K + j], (long long)chosen[j]);
            CHECK(fabs(wts[r * K + j] - p[r * ne + chosen[j]] / wsum) < 1e-6);
        }
    }
    rf_hip_buf_free(b);
}

/* Argmax over a 151936-token vocabulary, with a tie (first wins) and NaNs (never win) */
static void test_argmax(void) {
    const int64_t n = 151936;
    float *x = RF__NEW(float, n);
    rf_hip_buf *b = NULL;
    float *dx;
    int32_t *dout, got = -1;
    int64_t i;
    for (i = 0; i < n; i++) x[i] = frand();
    x[100] = NAN;
    x[90001] = 5.0f, x[120000] = 5.0f;
    REQUIRE(rf_hip_buf_new(G, sizeof(float) * n + 1024, &b) == 0);
    dx = (float *)rf_hip_buf_alloc(b, sizeof(float) * n, 256), dout = (int32_t *)rf_hip_buf_alloc(b, 4, 256);
    REQUIRE(rf_hip_upload(G, dx, x, sizeof(float) * n) == 0);
    REQUIRE(rf_hip_argmax(G, dx, n, dout) == 0 && rf_hip_download(G, &got, dout, 4) == 0);
    CHECKF(got == 90001, "got %d", got);
    rf_hip_buf_free(b);
    RF_FREE(x);
}

/* Device sampling against the CPU sampler (src/sample.c's rf_sampler_sample, the reference): for
   random logit vectors -- smooth, coarse (a few distinct values: ties at the top-k boundary), with
   NaN / -inf / +inf, all equal, and vocabularies smaller than k -- and each parameter set, the
   token rf_hip_sample draws with the sampler's next uniform number is rf_sampler_sample's, three
   draws per vector (the RNG moves on between them). */
typedef struct sample_case { float temp; int32_t top_k; float top_p, min_p; } sample_case;

static void fill_logits(float *x, int64_t n, int kind) {
    int64_t i;
    for (i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = frand() * 4.0f; break;                              /* smooth */
        case 1: x[i] = (float)floor(frand() * 8.0f) * 0.5f; break;          /* 16 values: ties */
        case 2: x[i] = frand() * 12.0f; break;                              /* peaked */
        case 3: x[i] = 0.25f; break;                                        /* all equal */
        default: x[i] = frand() < -0.6f ? -INFINITY : frand() * 3.0f; break; /* many -inf */
        }
    }
    if (kind == 4 && n > 10) x[1] = NAN, x[n / 2] = NAN, x[n - 1] = -0.0f, x[3] = 0.0f;
    if (kind == 2 && n > 10 && (rng & 1)) x[n / 3] = INFINITY, x[n / 5] = INFINITY, x[n / 7] = FLT_MAX;
}

static void test_sample_matches_cpu(void) {
    static const sample_case cases[] = {
        {0.0f, 40, 1.0f, 0.0f},      /* greedy */
        {0.7f, 1, 1.0f, 0.0f},       /* top-k 1 */
        {0.7f, 40, 1.0f, 0.0f},      {1.5f, 40, 0.9f, 0.0f},   {0.8f, 40, 0.95f, 0.05f}, /* the defaults */
        {0.7f, 256, 0.9f, 0.05f},    {1.5f, 256, 1.0f, 0.05f}, {1.5f, 256, 1.0f, 0.0f},
        {0.7f, 1, 0.9f, 0.05f},      {1.5f, 100, 0.9f, 0.0f},
    };
    static const int64_t vocabs[] = {7, 300, 32000, 151936};
    const int n_cases = (int)(sizeof cases / sizeof cases[0]);
    int vi, kind, trial, ci, draw, compared = 0, differ = 0;
    for (vi = 0; vi < 4; vi++) {
        const int64_t n = vocabs[vi];
        float *x = RF__NEW(float, n);
        rf_hip_buf *b = NULL;
        float *dx;
        int32_t *dout;
        REQUIRE(x && rf_hip_buf_new(G, sizeof(float) * (size_t)n + 1024, &b) == 0);
        dx = (float *)rf_hip_buf_alloc(b, sizeof(float) * (size_t)n, 256), dout = (int32_t *)rf_hip_buf_alloc(b, 8, 256);
        for (kind = 0; kind < 5; kind++)
            for (trial = 0; trial < 2; trial++) {
                fill_logits(x, n, kind);
                REQUIRE(rf_hip_upload(G, dx, x, sizeof(float) * (size_t)n) == 0);
                for (ci = 0; ci < n_cases; ci++) {
                    rf_sampler_params sp = rf_sampler_default_params();
                    rf_sampler *s = NULL;
                    rf__sample_plan plan;
                    sp.temperature = cases[ci].temp, sp.top_k = cases[ci].top_k, sp.top_p = cases[ci].top_p;
                    sp.min_p = cases[ci].min_p, sp.seed = (uint64_t)(1000 * vi + 100 * kind + 10 * trial + ci);
                    REQUIRE(rf_sampler_new(&sp, (int32_t)n, &s) == RF_OK);
                    REQUIRE(rf__sampler_plan(s, &plan));
                    for (draw = 0; draw < 3; draw++) {
                        int32_t got[2] = {-1, -1}, want = -1;
                        double u = rf__sampler_peek_uniform(s);
                        REQUIRE(rf_hip_sample(G, dx, n, plan.top_k, plan.top_p, plan.min_p, plan.temperature, u, dout) == 0);
                        REQUIRE(rf_hip_download(G, got, dout, sizeof got) == 0);
                        REQUIRE(rf_sampler_sample(s, x, &want) == RF_OK); /* draws u */
                        compared++;
                        if (got[0] != want) {
                            if (differ++ < 8)
                                printf("  vocab %lld kind %d case %d draw %d: device %d, cpu %d (u %.17g)\n", (long long)n, kind,
                                       ci, draw, got[0], want, u);
                        }
                    }
                    rf_sampler_free(s);
                }
            }
        rf_hip_buf_free(b);
        RF_FREE(x);
    }
    printf("  %d draws compared, %d differ\n", compared, differ);
    CHECKF(differ == 0, "%d of %d device draws differ from the CPU sampler's", differ, compared);
}

/* Every logit NaN or -inf: no candidate; token 0 and a count of 0 (rf_sampler_sample's error). A
   top_k the kernel cannot hold is refused before the launch. */
static void test_sample_no_candidates(void) {
    float x[64];
    rf_hip_buf *b = NULL;
    float *dx;
    int32_t *dout, got[2] = {-1, -1};
    int i;
    for (i = 0; i < 64; i++) x[i] = i % 3 ? -INFINITY : NAN;
    REQUIRE(rf_hip_buf_new(G, 4096, &b) == 0);
    dx = (float *)rf_hip_buf_alloc(b, sizeof x, 256), dout = (int32_t *)rf_hip_buf_alloc(b, 8, 256);
    REQUIRE(rf_hip_upload(G, dx, x, sizeof x) == 0);
    REQUIRE(rf_hip_sample(G, dx, 64, 40, 0.9f, 0.05f, 0.8f, 0.5, dout) == 0 && rf_hip_download(G, got, dout, 8) == 0);
    CHECKF(got[0] == 0 && got[1] == 0, "got %d, %d candidates", got[0], got[1]);
    REQUIRE(rf_hip_sample(G, dx, 64, 0, 1.0f, 0.0f, 0.0f, 0.5, dout) == 0 && rf_hip_download(G, got, dout, 8) == 0);
    CHECKF(got[0] == 0 && got[1] == 0, "greedy: got %d, %d candidates", got[0], got[1]);
    CHECK(rf_hip_sample(G, dx, 64, RF_HIP_SAMPLE_K_MAX + 1, 1.0f, 0.0f, 0.8f, 0.5, dout) != 0);
    CHECK(rf_hip_sample(G, dx, 64, 0, 1.0f, 0.0f, 0.8f, 0.5, dout) != 0);
    CHECK(rf_hip_sync(G) == 0);
    rf_hip_buf_free(b);
}

/* Errors are values with the runtime's message: no such device, an impossible allocation, a
   type without a kernel. Nothing aborts. */
static void test_errors(void) {
    rf_hip_dev *d = NULL;
    rf_hip_buf *b = NULL;
    char err[256] = "";
    CHECK(rf_hip_open(999, &d, err, sizeof err) != 0 && d == NULL && err[0]);
    printf("  open(999): %s\n", err);
    CHECK(rf_hip_buf_new(G, (size_t)1 << 52, &b) != 0 && b == NULL);
    printf("  4 PB allocation: %s\n", rf_hip_error(G));
    CHECK(rf_hip_gemv(G, RF_TYPE_IQ2_XXS, NULL, 256, 1, 66, NULL, 256, NULL, 1, 1, NULL, 0) != 0);
    printf("  iq2_xxs gemv: %s\n", rf_hip_error(G));
    CHECK(rf_hip_sync(G) == 0); /* the stream is still usable */
}

int main(void) {
    char err[256];
    rf_hip_info info;
    if (rf_hip_device_count() < 1 || rf_hip_open(0, &G, err, sizeof err)) {
        printf("skip gpu_ops: no GPU\n");
        return 0;
    }
    rf_hip_get_info(G, &info);
    printf("device: %s (%s), wave %d, %d CUs, %zu KB LDS/block, %.1f GB\n", info.name, info.arch, info.wave, info.n_cu,
           info.shared_per_block / 1024, (double)info.total_mem / 1e9);
    RUN(test_gemv_all_types);
    RUN(test_gemv_odd_rows);
    RUN(test_quant_act_exact);
    RUN(test_act_q8_exact);
    RUN(test_gemv_q8);
    RUN(test_gemv_q8_glu);
    RUN(test_gemv_q8_norm);
    RUN(test_gemm);
    RUN(test_graph_replay);
    RUN(test_rope_kv);
    RUN(test_rmsnorm);
    RUN(test_rope);
    RUN(test_attention);
    RUN(test_attention_rope);
    RUN(test_flash_attention);
    RUN(test_glu);
    RUN(test_add);
    RUN(test_embed);
    RUN(test_softmax_moe);
    RUN(test_argmax);
    RUN(test_sample_matches_cpu);
    RUN(test_sample_no_candidates);
    RUN(test_errors);
    rf_hip_close(G);
    return TEST_EXIT();
}
