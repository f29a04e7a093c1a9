/* The prefill GEMM on the matrix cores (kernels/mma.hip):

       Y[t][r] (= or +=) sum_k W[r][k] X[t][k]      for a batch of tokens t

   A block of 256 threads computes a 128-row x 128-token tile of Y; the blocks of one row tile
   are neighbours in the grid (x: tokens, y: rows), so they run together and read the weights
   from memory once between them. Per step of 32 k it dequantizes the tile's 128 x 32 weights to
   f16 into LDS, converts the 128 x 32 activations to f16 beside them, and its waves multiply:
   each wave owns 64 rows (4 tiles of 16) and 128 / (nw / 2) tokens. Two LDS buffers, one
   barrier per step: a step's global loads are issued before the waves multiply the previous
   step out of one buffer, and land in the other after. (Loading the weights two steps ahead
   instead was slower: docs/perf.md.)

   Weights: the packed layouts of kernels/gemv_q8.hip (q4_0, q8_0, q4_K, q6_K; rf_hip_pack), or
   any other type in its GGUF rows (rf_dq32, kernels/dequant.hip; not prefetched). f16 carries
   11 significant bits: each product is within ~2^-10 of the exact one, summed in f32. The
   values are those of the CPU's rf_dequantize (same formulas), rounded to f16. Activations
   beyond 65504 in magnitude would become infinite: the caller keeps this path for the layers'
   normed inputs. */

#define RF_GEMM_BM 128 /* rows per block */
#define RF_GEMM_BN 128 /* tokens per block */
#define RF_GEMM_BK 32  /* k per step: one q4_0 / q8_0 block, one K-quant sub-block */
#define RF_GEMM_LD (RF_GEMM_BK + 8) /* LDS row stride in halves: rows 80 bytes apart spread over the banks */
#define RF_GEMM_MT 4   /* 16-row tiles per wave */
/* 16-token tiles per wave for BN tokens a block: BN = 128 gives 2 on wave32 (8 waves), 4 on wave64 */
#define RF_GEMM_NT(BN) ((BN) / 8 * RF_MMA_WAVE / 256)

/* One thread's share of a step: half a 32-weight chunk of one row, 16 weights, k = 8h .. 8h + 7
   and 16 + 8h .. 16 + 8h + 7. Raw bytes first (loaded early), values later. */
struct rf_gemm_raw {
    int2 a, b, c, d; /* q4_0: a (8 nibble bytes); q8_0: a, b; q4_K: a, b (nibbles); q6_K: a, b (ql),
                        c, d (qh) */
    int4 hdr;        /* q4_K: the super-block's 16-byte head */
    uint32_t s;      /* q4_0 / q8_0 / q6_K: fp16 d; q6_K: its two int8 scales in s2 */
    uint32_t s2;
};

template <int T>
__device__ __forceinline__ void rf_gemm_load(const uint8_t *w, int64_t ne1, int64_t ni, int64_t row, int64_t c, int h,
                                             rf_gemm_raw &o) {
    if (T == RF_T_Q4_0) {
        const int64_t blk = row * ni + c;
        o.a = *(const int2 *)(w + 16 * blk + 8 * h);
        o.s = ((const uint16_t *)(w + 16 * ne1 * ni))[blk];
    } else if (T == RF_T_Q8_0) {
        const int64_t blk = row * ni + c;
        o.a = *(const int2 *)(w + 32 * blk + 8 * h);
        o.b = *(const int2 *)(w + 32 * blk + 16 + 8 * h);
        o.s = ((const uint16_t *)(w + 32 * ne1 * ni))[blk];
    } else if (T == RF_T_Q4_K) { /* chunk s of a super-block: nibbles (s odd: high) of qs[32 (s / 2) ..] */
        const uint8_t *b = w + 144 * (row * (ni / 8) + c / 8);
        const int s = (int)(c % 8);
        o.hdr = *(const int4 *)b;
        o.a = *(const int2 *)(b + 16 + 32 * (s / 2) + 8 * h);
        o.b = *(const int2 *)(b + 16 + 32 * (s / 2) + 16 + 8 * h);
    } else if (T == RF_T_Q6_K) { /* chunk s: half s / 4, group g = s % 4 of it */
        const int64_t nsb = ne1 * (ni / 8), sb = row * (ni / 8) + c / 8;
        const int s = (int)(c % 8), hf = s / 4, g = s % 4;
        const uint8_t *ql = w + 192 * sb + 64 * hf + 32 * (g & 1), *qh = w + 192 * sb + 128 + 32 * hf;
        o.a = *(const int2 *)(ql + 8 * h);
        o.b = *(const int2 *)(ql + 16 + 8 * h);
        o.c = *(const int2 *)(qh + 8 * h);
        o.d = *(const int2 *)(qh + 16 + 8 * h);
        o.s = ((const uint16_t *)(w + 208 * nsb))[sb];
        o.s2 = ((const uint16_t *)(w + 192 * nsb + 16 * sb + 8 * hf + 2 * g))[0]; /* scales of k < 16, k >= 16 */
    }
}

/* Byte j (0..7) of an int2. */
__device__ __forceinline__ int rf_gemm_byte(int2 v, int j) { return ((j < 4 ? v.x : v.y) >> (8 * (j % 4))) & 0xFF; }

/* The 16 values of rf_gemm_load's bytes: v[0..7] at k = 8h + j, v[8..15] at k = 16 + 8h + j. */
template <int T> __device__ __forceinline__ void rf_gemm_values(const rf_gemm_raw &r, int64_t c, float *v) {
    if (T == RF_T_Q4_0) {
        const float d = rf_h2f(r.s);
#pragma unroll
        for (int j = 0; j < 8; j++) {
            const int q = rf_gemm_byte(r.a, j);
            v[j] = d * (float)((q & 15) - 8);
            v[8 + j] = d * (float)((q >> 4) - 8);
        }
    } else if (T == RF_T_Q8_0) {
        const float d = rf_h2f(r.s);
#pragma unroll
        for (int j = 0; j < 8; j++) {
            v[j] = (float)(int8_t)rf_gemm_byte(r.a, j) * d;
            v[8 + j] = (float)(int8_t)rf_gemm_byte(r.b, j) * d;
        }
    } else if (T == RF_T_Q4_K) {
        const int s = (int)(c % 8), sh = 4 * (s & 1);
        int sc, m;
        rf_q4k_scale_min(r.hdr.y, r.hdr.z, r.hdr.w, s, sc, m);
        const float dl = rf_h2f((uint32_t)r.hdr.x & 0xffffu) * (float)sc, ml = rf_h2f((uint32_t)r.hdr.x >> 16) * (float)m;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            v[j] = dl * (float)((rf_gemm_byte(r.a, j) >> sh) & 15) - ml;
            v[8 + j] = dl * (float)((rf_gemm_byte(r.b, j) >> sh) & 15) - ml;
        }
    } else if (T == RF_T_Q6_K) {
        const int s = (int)(c % 8), g = s % 4, sl = 4 * (g >> 1), shh = 2 * g;
        const float d = rf_h2f(r.s), d0 = d * (float)(int8_t)(r.s2 & 0xFF), d1 = d * (float)(int8_t)(r.s2 >> 8);
#pragma unroll
        for (int j = 0; j < 8; j++) {
            const int q0 = ((rf_gemm_byte(r.a, j) >> sl) & 15) | (((rf_gemm_byte(r.c, j) >> shh) & 3) << 4);
            const int q1 = ((rf_gemm_byte(r.b, j) >> sl) & 15) | (((rf_gemm_byte(r.d, j) >> shh) & 3) << 4);
            v[j] = d0 * (float)(q0 - 32);
            v[8 + j] = d1 * (float)(q1 - 32);
        }
    }
}

/* Store 8 values as f16 at p (16-byte aligned). */
__device__ __forceinline__ void rf_gemm_put8(uint16_t *p, const float *v) {
    uint4 u;
    u.x = rf_mma_pack2(v[0], v[1]);
    u.y = rf_mma_pack2(v[2], v[3]);
    u.z = rf_mma_pack2(v[4], v[5]);
    u.w = rf_mma_pack2(v[6], v[7]);
    *(uint4 *)p = u;
}

/* PACKED: w in rf_hip_pack's layout (T is one of its four types); else GGUF rows of row_bytes. */
template <int T, int PACKED>
__global__ void __launch_bounds__(256, 2) rf_gemm_kernel(const uint8_t *w, uint64_t row_bytes, int64_t ne0, int64_t ne1,
                                                      const float *x, int64_t ldx, int64_t n_tok, float *y, int64_t ldy,
                                                      int accumulate) {
    constexpr int BN = RF_GEMM_BN, NT = RF_GEMM_NT(BN), XT = 256 / BN; /* threads per token row of activations */
    __shared__ __align__(16) uint16_t sa[2][RF_GEMM_BM * RF_GEMM_LD], sb[2][BN * RF_GEMM_LD];
    const int tid = threadIdx.x, h = tid % 2, wave = tid / RF_MMA_WAVE;
    const int wm = wave % (RF_GEMM_BM / (16 * RF_GEMM_MT)), wn = wave / (RF_GEMM_BM / (16 * RF_GEMM_MT));
    const int64_t r0 = (int64_t)blockIdx.y * RF_GEMM_BM, t0 = (int64_t)blockIdx.x * BN, ni = ne0 / 32;
    /* this thread's loads: half a chunk of row r0 + tid / 2, and 32 / XT activations of token t0 + tid / XT */
    const int64_t lrow = r0 + tid / 2 < ne1 ? r0 + tid / 2 : ne1 - 1, ltok = t0 + tid / XT;
    const int xo = (32 / XT) * (tid % XT);
    const float *xr = x + ltok * ldx + xo;
    rf_mma_acc acc[RF_GEMM_MT][NT];
    rf_gemm_raw raw;
    float4 xa[8 / XT];
    float v[16];

#pragma unroll
    for (int i = 0; i < RF_GEMM_MT; i++)
#pragma unroll
        for (int j = 0; j < NT; j++) rf_mma_zero(acc[i][j]);

    for (int64_t c = 0; c <= ni; c++) {
        const int buf = (int)(c & 1);
        if (c < ni) { /* issue step c's loads */
            if (PACKED) rf_gemm_load<T>(w, ne1, ni, lrow, c, h, raw);
#pragma unroll
            for (int j = 0; j < 8 / XT; j++) xa[j] = ltok < n_tok ? *(const float4 *)(xr + 32 * c + 4 * j) : make_float4(0.f, 0.f, 0.f, 0.f);
        }
        if (c > 0) { /* multiply step c - 1 */
            const uint16_t *A = sa[buf ^ 1] + (wm * 16 * RF_GEMM_MT) * RF_GEMM_LD;
            const uint16_t *B = sb[buf ^ 1] + (wn * 16 * NT) * RF_GEMM_LD;
#pragma unroll
            for (int k = 0; k < RF_GEMM_BK; k += 16) {
                rf_mma_frag fa[RF_GEMM_MT], fb[NT];
#pragma unroll
                for (int i = 0; i < RF_GEMM_MT; i++) fa[i] = rf_mma_load_a16(A + 16 * i * RF_GEMM_LD + k, RF_GEMM_LD);
#pragma unroll
                for (int j = 0; j < NT; j++) fb[j] = rf_mma_load_b16(B + 16 * j * RF_GEMM_LD + k, RF_GEMM_LD);
#pragma unroll
                for (int i = 0; i < RF_GEMM_MT; i++)
#pragma unroll
                    for (int j = 0; j < NT; j++) rf_mma(acc[i][j], fa[i], fb[j]);
            }
        }
        if (c < ni) { /* step c's values into buffer buf */
            uint16_t *pa = sa[buf] + (tid / 2) * RF_GEMM_LD, *pb = sb[buf] + (tid / XT) * RF_GEMM_LD + xo;
            if (PACKED) {
                rf_gemm_values<T>(raw, c, v);
            } else {
                float all[32];
                rf_dq32<T>(w + (uint64_t)lrow * row_bytes, c, ne0, all);
#pragma unroll
                for (int j = 0; j < 8; j++) v[j] = all[8 * h + j], v[8 + j] = all[16 + 8 * h + j];
            }
            rf_gemm_put8(pa + 8 * h, v);
            rf_gemm_put8(pa + 16 + 8 * h, v + 8);
#pragma unroll
            for (int j = 0; j < 8 / XT; j += 2) {
                const float xs[8] = {xa[j].x, xa[j].y, xa[j].z, xa[j].w, xa[j + 1].x, xa[j + 1].y, xa[j + 1].z, xa[j + 1].w};
                rf_gemm_put8(pb + 4 * j, xs);
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < RF_GEMM_MT; i++)
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int e = 0; e < RF_MMA_ACC; e++) {
                int m, n;
                rf_mma_acc_mn(e, m, n);
                const int64_t r = r0 + wm * 16 * RF_GEMM_MT + 16 * i + m, t = t0 + wn * 16 * NT + 16 * j + n;
                if (r < ne1 && t < n_tok) {
                    float *o = y + t * ldy + r;
                    *o = accumulate ? *o + acc[i][j].v[e] : acc[i][j].v[e];
                }
            }
}
