/* The int8 GEMV: y = W x with x quantized by kernels/act_q8.hip and W in a GPU layout, for the
   types decode spends its time in (q4_0, q8_0, q4_K, q6_K). Integer dot products (RF_DP4A) do
   the work: ~1 instruction per 4 weights against ~5 per weight in the dequantizing
   kernels/gemv.hip, which is what lets the loads run at memory speed.

   Layouts (src/hip.c packs them at upload; rf_hip_pack_bytes gives the size):
     q4_0  [rows * nb][16 nibble bytes], then [rows * nb] fp16 scales      (nb = ne0 / 32)
     q8_0  [rows * nb][32 int8],         then [rows * nb] fp16 scales
     q6_K  [rows * nb][128 ql | 64 qh],  then [rows * nb][16 int8 scales], then [rows * nb] fp16
           (nb = ne0 / 256)
     q4_K  as in GGUF: 144-byte super-blocks are already 16-byte aligned
   so that every lane reads its weights with 16- or 8-byte loads. The bytes are the GGUF bytes,
   regrouped: same size, same values.

   Work split: an "item" is 32 weights of a row (a q4_0/q8_0 block, one eighth of a K-quant
   super-block). Each wave owns R rows; lane l takes items l, l + wave, ...; each item's weights
   are loaded once for the R rows and each token's activation bytes once for those rows. NT tokens
   per block (grid.y tiles the batch) make the same kernel the prefill GEMV.

   Matches the CPU's vec_dot: the integer sums are identical; the float combination of block
   scales runs in another order (float rounding, ~1e-6 relative). */

/* Rows per wave R and items per lane U. The activation bytes loaded for an item are reused R
   times; a lane has U * R items' weights in flight. Prefill (a tile of RF_GEMV_TILE tokens, each
   item's activations ~44 bytes per token against 18 of weights per row) wants the reuse: R 8,
   U 1. Decode wants bytes in flight and few instructions per byte (rf_gemv_q8_launch picks the
   shape): measured on an H200 with every shape of a 7B layer (bench/gpu_gemv_shapes.cpp), the
   best shape of each matrix runs at 2.0-2.9 TB/s for q4_K, 2.5-3.5 for q4_0 and 3.2-4.1 for q8_0,
   roughly in the order of the instructions each weight byte costs. Two changes that cut
   instructions, measured together: q4_K's scales decoded per sub-block pair without a branch
   (rf_q4k_pair) and the block scales' f16 converted by the hardware took q4_K 22016 x 4096 from
   28.8 to 17.4 us and q4_0 12288 x 4096 from 12.0 to 9.4 us. */
#define RF_GEMV_PREFILL_ROWS 8

struct rf_q8act { /* one item of one token's activation */
    int4 lo, hi;  /* 32 int8 (q4_K: the two 16-value runs it needs) */
    float d;
    int s0, s1; /* sums of the quants in lo and in hi (16 each) */
};

/* Token row `arow` (n values), item i, in the order type T pairs weights with activations. */
template <int T> __device__ __forceinline__ void rf_q8act_load(const uint8_t *arow, int64_t n, int64_t i, rf_q8act &a) {
    const float *d = (const float *)(arow + n);
    const int32_t *s = (const int32_t *)(arow + n + 4 * (n / 32));
    int64_t e0 = 32 * i, e1 = 32 * i + 16;
    if (T == RF_T_Q4_K) { /* item p of a super-block: 16 values of sub-block 2j and 16 of 2j + 1 */
        const int64_t sb = i / 8, p = i % 8, j = p / 2, h = p % 2;
        e0 = 256 * sb + 64 * j + 16 * h;
        e1 = e0 + 32;
    }
    if (T == RF_T_Q6_K) { /* four runs of 8, 32 apart: loaded as lo.{x,y}, lo.{z,w}, hi.{x,y}, hi.{z,w} */
        const int64_t sb = i / 8, p = i % 8, e = 256 * sb + 128 * (p / 4) + 8 * (p % 4);
        const int2 a0 = *(const int2 *)(arow + e), a1 = *(const int2 *)(arow + e + 32);
        const int2 a2 = *(const int2 *)(arow + e + 64), a3 = *(const int2 *)(arow + e + 96);
        a.lo = make_int4(a0.x, a0.y, a1.x, a1.y);
        a.hi = make_int4(a2.x, a2.y, a3.x, a3.y);
        a.d = d[i];
        a.s0 = a.s1 = 0;
        return;
    }
    a.lo = *(const int4 *)(arow + e0);
    a.hi = *(const int4 *)(arow + e1);
    a.d = d[e0 / 32];
    a.s0 = s[e0 / 16];
    a.s1 = s[e1 / 16];
}

struct rf_q8w { /* one item of one row's weights */
    int4 q, q2;    /* q4_0: q (16 nibble bytes); q8_0: q, q2; q4_K: q = nibbles, q2 = the header; q6_K: q.xy ql, q.zw ql + 32, q2.xy qh */
    float d, dmin; /* q6_K: d; the int8 scales come with q2.zw */
};

template <int T>
__device__ __forceinline__ void rf_q8w_load(const uint8_t *w, int64_t ne1, int64_t ni, int64_t row, int64_t i, rf_q8w &o) {
    const int64_t blk = row * ni + i; /* q4_0 / q8_0: one block per item */
    if (T == RF_T_Q4_0) {
        o.q = *(const int4 *)(w + 16 * blk);
        o.d = rf_h2f_lo(((const uint16_t *)(w + 16 * ne1 * ni))[blk]);
    } else if (T == RF_T_Q8_0) {
        o.q = *(const int4 *)(w + 32 * blk);
        o.q2 = *(const int4 *)(w + 32 * blk + 16);
        o.d = rf_h2f_lo(((const uint16_t *)(w + 32 * ne1 * ni))[blk]);
    } else if (T == RF_T_Q4_K) {
        const uint8_t *b = w + 144 * (row * (ni / 8) + i / 8);
        o.q2 = *(const int4 *)b; /* d, dmin, 12 bytes of scales */
        o.q = *(const int4 *)(b + 16 + 16 * (i % 8));
        o.d = rf_h2f_lo((uint32_t)o.q2.x);
        o.dmin = rf_h2f_hi((uint32_t)o.q2.x);
    } else if (T == RF_T_Q6_K) {
        const int64_t nsb = ne1 * (ni / 8), sb = row * (ni / 8) + i / 8, p = i % 8;
        const uint8_t *ql = w + 192 * sb + 64 * (p / 4) + 8 * (p % 4), *qh = w + 192 * sb + 128 + 32 * (p / 4) + 8 * (p % 4);
        const int2 l0 = *(const int2 *)ql, l1 = *(const int2 *)(ql + 32), h = *(const int2 *)qh;
        const int2 sc = *(const int2 *)(w + 192 * nsb + 16 * sb + 8 * (p / 4)); /* the 8 scales of this half */
        o.q = make_int4(l0.x, l0.y, l1.x, l1.y);
        o.q2 = make_int4(h.x, h.y, sc.x, sc.y);
        o.d = rf_h2f_lo(((const uint16_t *)(w + 208 * nsb))[sb]);
    }
}

/* 6-bit values 0..63 in each byte -> the signed bytes q - 32 (flip bit 5, sign-extend it). */
__device__ __forceinline__ int rf_q6_signed(int q) {
    const int t = q ^ 0x20202020;
    return t | ((t & 0x20202020) * 6);
}

/* Byte k (0..11) of the three words w0 w1 w2, without indexing a register array (which would
   put it in local memory). */
__device__ __forceinline__ int rf_byte12(int w0, int w1, int w2, int k) {
    const int w = k < 4 ? w0 : k < 8 ? w1 : w2;
    return (w >> (8 * (k % 4))) & 0xFF;
}

/* q4_K: the 6-bit scale and min of sub-block j from the 12 packed bytes (GGUF's
   get_scale_min_k4). */
__device__ __forceinline__ void rf_q4k_scale_min(int w0, int w1, int w2, int j, int &sc, int &m) {
    if (j < 4) {
        sc = rf_byte12(w0, w1, w2, j) & 63;
        m = rf_byte12(w0, w1, w2, j + 4) & 63;
    } else {
        const int a = rf_byte12(w0, w1, w2, j + 4);
        sc = (a & 0xF) | ((rf_byte12(w0, w1, w2, j - 4) >> 6) << 4);
        m = (a >> 4) | ((rf_byte12(w0, w1, w2, j) >> 6) << 4);
    }
}

/* q4_K: the scales and mins of the sub-block pair 2j, 2j + 1 at once, without a branch on the
   sub-block (rf_q4k_scale_min for both; a decode lane's j is fixed, but differs between lanes):
   sc = sc0 | sc1 << 8, m = m0 | m1 << 8. Bytes 2j, 2j + 1 of the first and second words hold the
   low pairs' 6 bits; the high pairs take 4 bits from the third word and 2 from the first two. */
__device__ __forceinline__ void rf_q4k_pair(uint32_t w0, uint32_t w1, uint32_t w2, int j, int &sc, int &m) {
    const int sh = 16 * (j & 1);
    const uint32_t a0 = w0 >> sh, a1 = w1 >> sh, a2 = w2 >> sh;
    const uint32_t lo_sc = a0 & 0x3F3F, lo_m = a1 & 0x3F3F;
    const uint32_t hi_sc = (a2 & 0x0F0F) | ((a0 >> 2) & 0x3030), hi_m = ((a2 >> 4) & 0x0F0F) | ((a1 >> 2) & 0x3030);
    sc = (int)(j < 2 ? lo_sc : hi_sc);
    m = (int)(j < 2 ? lo_m : hi_m);
}

template <int T> __device__ __forceinline__ float rf_q8_dot(const rf_q8w &w, const rf_q8act &a, int64_t i) {
    if (T == RF_T_Q4_0) {
        const int q[4] = {w.q.x, w.q.y, w.q.z, w.q.w}, lo[4] = {a.lo.x, a.lo.y, a.lo.z, a.lo.w}, hi[4] = {a.hi.x, a.hi.y, a.hi.z, a.hi.w};
        int s = 0;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            s = RF_DP4A(q[k] & 0x0F0F0F0F, lo[k], s);
            s = RF_DP4A((q[k] >> 4) & 0x0F0F0F0F, hi[k], s);
        }
        return w.d * a.d * (float)(s - 8 * (a.s0 + a.s1));
    } else if (T == RF_T_Q8_0) {
        int s = RF_DP4A(w.q.x, a.lo.x, 0);
        s = RF_DP4A(w.q.y, a.lo.y, s);
        s = RF_DP4A(w.q.z, a.lo.z, s);
        s = RF_DP4A(w.q.w, a.lo.w, s);
        s = RF_DP4A(w.q2.x, a.hi.x, s);
        s = RF_DP4A(w.q2.y, a.hi.y, s);
        s = RF_DP4A(w.q2.z, a.hi.z, s);
        s = RF_DP4A(w.q2.w, a.hi.w, s);
        return w.d * a.d * (float)s;
    } else if (T == RF_T_Q4_K) {
        const int q[4] = {w.q.x, w.q.y, w.q.z, w.q.w}, lo[4] = {a.lo.x, a.lo.y, a.lo.z, a.lo.w}, hi[4] = {a.hi.x, a.hi.y, a.hi.z, a.hi.w};
        const int j = (int)(i % 8) / 2;
        int sa = 0, sb = 0, sc, m;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            sa = RF_DP4A(q[k] & 0x0F0F0F0F, lo[k], sa);
            sb = RF_DP4A((q[k] >> 4) & 0x0F0F0F0F, hi[k], sb);
        }
        rf_q4k_pair((uint32_t)w.q2.y, (uint32_t)w.q2.z, (uint32_t)w.q2.w, j, sc, m);
        return a.d * (w.d * (float)((sc & 0xFF) * sa + (sc >> 8) * sb) - w.dmin * (float)((m & 0xFF) * a.s0 + (m >> 8) * a.s1));
    } else { /* q6_K: groups g = 0..3 are y[l], y[l + 32], y[l + 64], y[l + 96] of this half */
        const int A[2] = {w.q.x, w.q.y}, B[2] = {w.q.z, w.q.w}, H[2] = {w.q2.x, w.q2.y};
        const int X[4][2] = {{a.lo.x, a.lo.y}, {a.lo.z, a.lo.w}, {a.hi.x, a.hi.y}, {a.hi.z, a.hi.w}};
        const int l0 = 8 * (int)(i % 4);
        int tot = 0;
#pragma unroll
        for (int g = 0; g < 4; g++) {
            const int is = l0 / 16 + 2 * g, scw = is < 4 ? w.q2.z : w.q2.w; /* scale byte is of the 8 */
            int s = 0;
#pragma unroll
            for (int k = 0; k < 2; k++) {
                const int ql = g == 0 ? A[k] & 0x0F0F0F0F : g == 1 ? B[k] & 0x0F0F0F0F : g == 2 ? (A[k] >> 4) & 0x0F0F0F0F : (B[k] >> 4) & 0x0F0F0F0F;
                const int qh = g == 0 ? (H[k] << 4) & 0x30303030 : g == 1 ? (H[k] << 2) & 0x30303030 : g == 2 ? H[k] & 0x30303030 : (H[k] >> 2) & 0x30303030;
                s = RF_DP4A(rf_q6_signed(ql | qh), X[g][k], s);
            }
            tot += (int)(int8_t)((scw >> (8 * (is % 4))) & 0xFF) * s;
        }
        return w.d * a.d * (float)tot;
    }
}

/* The weights of items i0, i0 + wave, ... (U of them) for rows row0 .. row0 + R - 1, clamped to
   the matrix: a lane past the end reloads a valid item, unused. */
template <int T, int U, int R>
__device__ __forceinline__ void rf_q8w_load_round(const uint8_t *w, int64_t ne1, int64_t ni, int64_t row0, int64_t i0, rf_q8w (&wr)[U][R]) {
#pragma unroll
    for (int u = 0; u < U; u++) {
        const int64_t i = i0 + (int64_t)u * RF_WAVE < ni ? i0 + (int64_t)u * RF_WAVE : ni - 1;
#pragma unroll
        for (int r = 0; r < R; r++) rf_q8w_load<T>(w, ne1, ni, row0 + r < ne1 ? row0 + r : ne1 - 1, i, wr[u][r]);
    }
}

/* The RMSNorm's 1 / rms for a row whose int8 form rf_gemv_q8_norm_kernel made (kernels/gemv_norm.hip)
   from ss, the row's sums of squares per 32 values (n / 32 of them), the formula of
   rf_act_q8_kernel's (rf_rms_inv); every lane of the wave gets it. */
__device__ __forceinline__ float rf_rms_scale(const float *ss, int64_t n, float eps) {
    float s = 0.0f;
    for (int64_t k = threadIdx.x % RF_WAVE; k < n / 32; k += RF_WAVE) s += ss[k];
    s = rf_wave_sum(s, RF_WAVE);
    return rf_rms_inv(s, n, eps);
}

template <int T, int NT, int U, int R>
__global__ void rf_gemv_q8_kernel(const uint8_t *w, int64_t ne0, int64_t ne1, const uint8_t *act, int64_t n_tok, float *y,
                                  int64_t ldy, int accumulate, const float *ss, float eps) {
    /* U items per lane in flight: their weights are all loaded before any is used. The first
       round's are loaded before RF_GRID_WAIT, while the kernel that makes the activations may
       still run. ss != NULL: act is rf_gemv_q8_norm_kernel's, the sums scaled by rf_rms_scale. */
    const int lane = threadIdx.x % RF_WAVE, nw = blockDim.x / RF_WAVE;
    const int64_t row0 = ((int64_t)blockIdx.x * nw + threadIdx.x / RF_WAVE) * R, t0 = (int64_t)blockIdx.y * NT;
    const int64_t ni = ne0 / 32, astride = rf_act_q8_stride(ne0);
    float acc[R][NT];
    rf_q8w wr[U][R];
    RF_GRID_OPEN();
    if (row0 >= ne1) return; /* the whole wave leaves together */
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int t = 0; t < NT; t++) acc[r][t] = 0.0f;
    rf_q8w_load_round<T, U, R>(w, ne1, ni, row0, lane, wr);
    RF_GRID_WAIT();
    for (int64_t i0 = lane; i0 < ni; i0 += U * RF_WAVE) {
        if (i0 != lane) rf_q8w_load_round<T, U, R>(w, ne1, ni, row0, i0, wr);
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int64_t i = i0 + (int64_t)u * RF_WAVE;
            if (i >= ni) break;
#pragma unroll
            for (int t = 0; t < NT; t++) {
                rf_q8act a;
                if (t0 + t >= n_tok) break;
                rf_q8act_load<T>(act + (t0 + t) * astride, ne0, i, a);
#pragma unroll
                for (int r = 0; r < R; r++) acc[r][t] += rf_q8_dot<T>(wr[u][r], a, i);
            }
        }
    }
    const float rs = ss ? rf_rms_scale(ss, ne0, eps) : 1.0f;
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int t = 0; t < NT; t++) {
            if (t0 + t >= n_tok) break;
            const float s = rf_wave_sum(acc[r][t], RF_WAVE) * rs;
            if (lane == 0 && row0 + r < ne1) {
                float *o = y + (t0 + t) * ldy + row0 + r;
                *o = accumulate ? *o + s : s;
            }
        }
}
