/* The prefill GEMM on the matrix cores (kernels/mma.hip):

       Y[t][r] (= or +=) sum_k W[r][k] X[t][k]      for a batch of tokens t

   A block of 256 threads computes a 128-row x 128-token tile of Y; the blocks of one row tile
   are neighbours in the grid (x: tokens, y: rows), so they run together and read the weights
   from memory once between them. Per step of 32 k its waves multiply a 128 x 32 f16 weight
   tile by a 128 x 32 f16 activation tile, both in LDS; each wave owns 64 rows (4 tiles of 16)
   and 128 / (nw / 2) tokens. One barrier per step.
     - Activations: X arrives in f16 (rf_gemm_input_kernel, once per matrix input, not once per
       row tile), and its tiles are copied into LDS asynchronously (rf_cp16: cp.async on NVIDIA),
       RF_GEMM_STAGES steps in flight, no registers or instructions of the waves spent on them.
     - Weights: each thread loads the raw bytes of half a 32-weight chunk one step ahead and
       turns them into f16 in the step itself: q4_0 and q8_0 in f16 arithmetic straight from the
       bytes (rf_gemm_scale4), the K-quants in f32.

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
#define RF_GEMM_STAGES 3 /* activation tiles in flight (rf_cp16): step c is multiplied while c + 1, c + 2 load */
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

/* The four bytes of w (each below 2^23) as floats 2^23 + byte (the byte in the mantissa of
   0x4B000000): a byte permute each, where a conversion from int runs at a quarter of the rate. */
__device__ __forceinline__ void rf_gemm_magic4(uint32_t w, float *f) {
    f[0] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7650)); /* byte 0, zeros, 0x4B */
    f[1] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7651));
    f[2] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7652));
    f[3] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7653));
}

/* The 16 values of rf_gemm_load's bytes of a K-quant: v[0..7] at k = 8h + j, v[8..15] at k = 16 + 8h + j.
   Codes q arrive as 2^23 + q (rf_gemm_magic4); subtracting 2^23 (+ 32 for q6_K) is exact, so each
   value is the same float as with (float)q. */
template <int T> __device__ __forceinline__ void rf_gemm_values(const rf_gemm_raw &r, int64_t c, float *v) {
    uint32_t w[4];
    float f[16], off;
    if (T == RF_T_Q4_K) {
        const int s = (int)(c % 8), sh = 4 * (s & 1);
        int sc, m;
        rf_q4k_scale_min(r.hdr.y, r.hdr.z, r.hdr.w, s, sc, m);
        const float dl = rf_h2f((uint32_t)r.hdr.x & 0xffffu) * (float)sc, ml = rf_h2f((uint32_t)r.hdr.x >> 16) * (float)m;
        w[0] = ((uint32_t)r.a.x >> sh) & 0x0F0F0F0Fu, w[1] = ((uint32_t)r.a.y >> sh) & 0x0F0F0F0Fu;
        w[2] = ((uint32_t)r.b.x >> sh) & 0x0F0F0F0Fu, w[3] = ((uint32_t)r.b.y >> sh) & 0x0F0F0F0Fu;
        off = 8388608.0f;
#pragma unroll
        for (int i = 0; i < 4; i++) rf_gemm_magic4(w[i], f + 4 * i);
#pragma unroll
        for (int j = 0; j < 16; j++) v[j] = dl * (f[j] - off) - ml;
    } else if (T == RF_T_Q6_K) {
        const int s = (int)(c % 8), g = s % 4, sl = 4 * (g >> 1), shh = 2 * g;
        const float d = rf_h2f(r.s), d0 = d * (float)(int8_t)(r.s2 & 0xFF), d1 = d * (float)(int8_t)(r.s2 >> 8);
        /* low 4 bits from ql, high 2 from qh, per byte (no carries between bytes) */
        w[0] = (((uint32_t)r.a.x >> sl) & 0x0F0F0F0Fu) | ((((uint32_t)r.c.x >> shh) & 0x03030303u) << 4);
        w[1] = (((uint32_t)r.a.y >> sl) & 0x0F0F0F0Fu) | ((((uint32_t)r.c.y >> shh) & 0x03030303u) << 4);
        w[2] = (((uint32_t)r.b.x >> sl) & 0x0F0F0F0Fu) | ((((uint32_t)r.d.x >> shh) & 0x03030303u) << 4);
        w[3] = (((uint32_t)r.b.y >> sl) & 0x0F0F0F0Fu) | ((((uint32_t)r.d.y >> shh) & 0x03030303u) << 4);
        off = 8388640.0f; /* 2^23 + 32 */
#pragma unroll
        for (int i = 0; i < 4; i++) rf_gemm_magic4(w[i], f + 4 * i);
#pragma unroll
        for (int j = 0; j < 8; j++) {
            v[j] = d0 * (f[j] - off);
            v[8 + j] = d1 * (f[8 + j] - off);
        }
    }
}

/* 8 floats as f16 (round to nearest even), k ascending. */
__device__ __forceinline__ uint4 rf_gemm_pack8(const float *v) {
    return make_uint4(rf_mma_pack2(v[0], v[1]), rf_mma_pack2(v[2], v[3]), rf_mma_pack2(v[4], v[5]), rf_mma_pack2(v[6], v[7]));
}

/* Four bytes of w (each below 256) as two f16 pairs of 1024 + byte: byte b sits in the low byte
   of 0x6400 (1024, whose ulp is 1). The pairs are bytes 0, 1 and bytes 2, 3. */
__device__ __forceinline__ void rf_gemm_magic(uint32_t w, __half2 &p01, __half2 &p23) {
    const uint32_t a = __byte_perm(w, 0x64646464u, 0x4140), b = __byte_perm(w, 0x64646464u, 0x4342);
    p01 = *(const __half2 *)&a;
    p23 = *(const __half2 *)&b;
}

/* d * (q - off) for the 4 bytes q of w, in f16: (1024 + q) - (1024 + off) is exact, so the one
   rounding is the product's -- the same f16 as rounding the f32 product d * (q - off), which
   is exact in f32 (q - off has at most 9 bits, d 11). */
__device__ __forceinline__ uint2 rf_gemm_scale4(uint32_t w, __half2 base, __half2 d) {
    __half2 p01, p23;
    rf_gemm_magic(w, p01, p23);
    p01 = __hmul2(__hsub2(p01, base), d);
    p23 = __hmul2(__hsub2(p23, base), d);
    return make_uint2(*(const uint32_t *)&p01, *(const uint32_t *)&p23);
}

/* The 16 f16 values of rf_gemm_load's bytes: lo at k = 8h .. 8h + 7, hi at k = 16 + 8h .. . q4_0
   and q8_0 in f16 arithmetic (rf_gemm_scale4), the K-quants in f32 and rounded once. */
template <int T> __device__ __forceinline__ void rf_gemm_halves(const rf_gemm_raw &r, int64_t c, uint4 &lo, uint4 &hi) {
    if (T == RF_T_Q4_0 || T == RF_T_Q8_0) {
        const __half2 d = __half2half2(__ushort_as_half((unsigned short)r.s));
        uint32_t w0 = (uint32_t)r.a.x, w1 = (uint32_t)r.a.y, w2, w3;
        __half2 base;
        if (T == RF_T_Q4_0) { /* low nibbles are k = 8h + j, high k = 16 + 8h + j; q - 8 */
            w2 = (w0 >> 4) & 0x0F0F0F0Fu, w3 = (w1 >> 4) & 0x0F0F0F0Fu;
            w0 &= 0x0F0F0F0Fu, w1 &= 0x0F0F0F0Fu;
            base = __float2half2_rn(1032.0f);
        } else { /* int8 q as q + 128 */
            w0 ^= 0x80808080u, w1 ^= 0x80808080u;
            w2 = (uint32_t)r.b.x ^ 0x80808080u, w3 = (uint32_t)r.b.y ^ 0x80808080u;
            base = __float2half2_rn(1152.0f);
        }
        const uint2 a = rf_gemm_scale4(w0, base, d), b = rf_gemm_scale4(w1, base, d);
        const uint2 e = rf_gemm_scale4(w2, base, d), f = rf_gemm_scale4(w3, base, d);
        lo = make_uint4(a.x, a.y, b.x, b.y);
        hi = make_uint4(e.x, e.y, f.x, f.y);
    } else {
        float v[16];
        rf_gemm_values<T>(r, c, v);
        lo = rf_gemm_pack8(v);
        hi = rf_gemm_pack8(v + 8);
    }
}

/* The GEMM's input: rows of x (f32, ld ldx) rounded to f16, dense (n per row). */
__global__ void rf_gemm_input_kernel(uint16_t *x16, const float *x, int64_t ldx, int64_t n, int64_t rows) {
    RF_GRID_STRIDE(i, rows * (n / 4)) {
        const int64_t r = i / (n / 4), k = 4 * (i % (n / 4));
        const float4 v = *(const float4 *)(x + r * ldx + k);
        *(uint2 *)(x16 + r * n + k) = make_uint2(rf_mma_pack2(v.x, v.y), rf_mma_pack2(v.z, v.w));
    }
}

/* LDS of one block: RF_GEMM_STAGES activation tiles, two weight tiles (bytes). */
#define RF_GEMM_LDS (2 * (size_t)(RF_GEMM_STAGES * RF_GEMM_BN + 2 * RF_GEMM_BM) * RF_GEMM_LD)

/* PACKED: w in rf_hip_pack's layout (T is one of its four types); else GGUF rows of row_bytes.
   x16: the activations in f16 (rf_gemm_input_kernel), ldx a multiple of 8. */
template <int T, int PACKED>
__global__ void __launch_bounds__(256, 2) rf_gemm_kernel(const uint8_t *w, uint64_t row_bytes, int64_t ne0, int64_t ne1,
                                                      const uint16_t *x16, int64_t ldx, int64_t n_tok, float *y, int64_t ldy,
                                                      int accumulate) {
    constexpr int BN = RF_GEMM_BN, NT = RF_GEMM_NT(BN), S = RF_GEMM_STAGES, CPT = BN * RF_GEMM_BK / 8 / 256;
    extern __shared__ __align__(16) uint16_t rf_gemm_lds[];
    uint16_t *sb = rf_gemm_lds, *sa = rf_gemm_lds + S * BN * RF_GEMM_LD; /* sb[S][BN * LD], sa[2][BM * LD] */
    const int tid = threadIdx.x, h = tid % 2, wave = tid / RF_MMA_WAVE;
    const int wm = wave % (RF_GEMM_BM / (16 * RF_GEMM_MT)), wn = wave / (RF_GEMM_BM / (16 * RF_GEMM_MT));
    const int64_t r0 = (int64_t)blockIdx.y * RF_GEMM_BM, t0 = (int64_t)blockIdx.x * BN, ni = ne0 / 32;
    /* this thread's weights: half a chunk of row r0 + tid / 2 */
    const int64_t lrow = r0 + tid / 2 < ne1 ? r0 + tid / 2 : ne1 - 1;
    rf_mma_acc acc[RF_GEMM_MT][NT];
    rf_gemm_raw raw;

#pragma unroll
    for (int i = 0; i < RF_GEMM_MT; i++)
#pragma unroll
        for (int j = 0; j < NT; j++) rf_mma_zero(acc[i][j]);

    /* Step c's activations: CPT 16-byte pieces per thread (4 per token), zeros past the last token. */
    auto copy_x = [&](int64_t c) {
#pragma unroll
        for (int j = 0; j < CPT; j++) {
            const int e = tid + 256 * j, tok = e / 4, part = e % 4;
            const int64_t t = t0 + tok;
            rf_cp16(sb + (c % S) * BN * RF_GEMM_LD + tok * RF_GEMM_LD + 8 * part, x16 + (t < n_tok ? t : 0) * ldx + 32 * c + 8 * part,
                    t < n_tok);
        }
    };
    for (int64_t c = 0; c < S - 1; c++) { /* the pipeline's head: one group per step, empty past the end */
        if (c < ni) copy_x(c);
        rf_cp_commit();
    }
    if (PACKED) rf_gemm_load<T>(w, ne1, ni, lrow, 0, h, raw);

    for (int64_t c = 0; c < ni; c++) {
        const uint16_t *A = sa + (c & 1) * RF_GEMM_BM * RF_GEMM_LD + (wm * 16 * RF_GEMM_MT) * RF_GEMM_LD;
        const uint16_t *B = sb + (c % S) * BN * RF_GEMM_LD + (wn * 16 * NT) * RF_GEMM_LD;
        { /* step c's weights into their tile; step c + 1's raw bytes on their way */
            uint16_t *pa = sa + (c & 1) * RF_GEMM_BM * RF_GEMM_LD + (tid / 2) * RF_GEMM_LD;
            uint4 lo, hi;
            if (PACKED) {
                rf_gemm_halves<T>(raw, c, lo, hi);
                if (c + 1 < ni) rf_gemm_load<T>(w, ne1, ni, lrow, c + 1, h, raw);
            } else {
                float all[32], v[16];
                rf_dq32<T>(w + (uint64_t)lrow * row_bytes, c, ne0, all);
#pragma unroll
                for (int j = 0; j < 8; j++) v[j] = all[8 * h + j], v[8 + j] = all[16 + 8 * h + j];
                lo = rf_gemm_pack8(v);
                hi = rf_gemm_pack8(v + 8);
            }
            *(uint4 *)(pa + 8 * h) = lo;
            *(uint4 *)(pa + 16 + 8 * h) = hi;
        }
        rf_cp_wait<S - 2>(); /* this thread's copies of step c have landed */
        __syncthreads();     /* and everyone's; the buffers the next copies fill are read no more */
        if (c + S - 1 < ni) copy_x(c + S - 1);
        rf_cp_commit();
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
