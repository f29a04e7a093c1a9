/* Prefill attention on the matrix cores (kernels/mma.hip), flash-attention style: the same
   causal, grouped-query, sliding-window attention as kernels/attention.hip, for a batch of
   queries, without ever forming the score matrix in memory.

   A block of RF_FA_WAVES waves takes RF_FA_BQ queries of one head, 16 per wave. Its queries sit
   in LDS as f16 (pre-scaled); per step of RF_FA_BK cache positions the block loads K (f16, as
   stored) and V transposed, then each wave
     S = Q K^T                       (mma, 16 queries x RF_FA_BK positions)
     masks S, and keeps per query a running max m and sum l (online softmax), P = exp(S - m)
     O = O * exp(m_old - m) + P V    (mma, P in f16)
   and at the end writes O / l. S goes through LDS once per step so the softmax does not depend
   on the matrix cores' register layout. Rounding: q and P in f16 (2^-11 relative), sums in f32.
   HD: the head size, 64 or 128 (the accumulator of a wave is 16 x HD). */

#define RF_FA_WAVES 4
#define RF_FA_BQ (16 * RF_FA_WAVES)
#define RF_FA_BK 32

template <int HD>
__global__ void __launch_bounds__(RF_FA_WAVES * RF_MMA_WAVE)
rf_flash_kernel(float *out, const float *q, int64_t ldq, const uint16_t *kc, const uint16_t *vc, int64_t nh, int64_t nkv,
                int64_t n_tok, int32_t pos0, int64_t window, float scale) {
    constexpr int LQ = HD + 8, LV = RF_FA_BK + 4, LP = RF_FA_BK + 4, NO = HD / 16;
    constexpr int L = RF_MMA_WAVE / 16, CPL = RF_FA_BK / L; /* lanes per query row, positions per lane */
    __shared__ __align__(16) uint16_t sq[RF_FA_BQ * LQ], sk[RF_FA_BK * LQ], svt[HD * LV];
    __shared__ __align__(16) uint16_t sp[RF_FA_WAVES][16 * LP];
    __shared__ float ss[RF_FA_WAVES][16 * RF_FA_BK], srow[RF_FA_WAVES][16];
    const int nthr = RF_FA_WAVES * RF_MMA_WAVE, tid = threadIdx.x, wave = tid / RF_MMA_WAVE, lane = tid % RF_MMA_WAVE;
    const int row = lane / L, part = lane % L; /* the query row (of the wave's 16) and part this lane softmaxes */
    const int64_t h = blockIdx.x, q0 = (int64_t)blockIdx.y * RF_FA_BQ, kv_dim = nkv * HD, kvoff = (h / (nh / nkv)) * HD;
    const int64_t last = pos0 + (q0 + RF_FA_BQ < n_tok ? q0 + RF_FA_BQ : n_tok) - 1;
    const int64_t first = window > 0 && pos0 + q0 - window + 1 > 0 ? pos0 + q0 - window + 1 : 0;
    float m = -INFINITY, l = 0.0f;
    rf_mma_acc o[NO];

    for (int i = tid; i < RF_FA_BQ * HD / 4; i += nthr) { /* the queries, scaled, as f16 */
        const int r = i / (HD / 4), c = 4 * (i % (HD / 4));
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (q0 + r < n_tok) v = *(const float4 *)(q + (q0 + r) * ldq + h * HD + c);
        *(uint2 *)(sq + r * LQ + c) = make_uint2(rf_mma_pack2(v.x * scale, v.y * scale), rf_mma_pack2(v.z * scale, v.w * scale));
    }
#pragma unroll
    for (int j = 0; j < NO; j++) rf_mma_zero(o[j]);

    for (int64_t k0 = first / RF_FA_BK * RF_FA_BK; k0 <= last; k0 += RF_FA_BK) {
        for (int i = tid; i < RF_FA_BK * HD / 8; i += nthr) { /* K rows as stored; V transposed */
            const int s = i / (HD / 8), c = 8 * (i % (HD / 8));
            uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
            if (k0 + s <= last) {
                kv = *(const uint4 *)(kc + (k0 + s) * kv_dim + kvoff + c);
                vv = *(const uint4 *)(vc + (k0 + s) * kv_dim + kvoff + c);
            }
            *(uint4 *)(sk + s * LQ + c) = kv;
            const uint32_t w[4] = {vv.x, vv.y, vv.z, vv.w};
#pragma unroll
            for (int e = 0; e < 8; e++) svt[(c + e) * LV + s] = (uint16_t)(w[e / 2] >> (16 * (e % 2)));
        }
        __syncthreads();

        { /* S = Q K^T for this wave's 16 queries, masked, into LDS */
            rf_mma_acc s[RF_FA_BK / 16];
#pragma unroll
            for (int j = 0; j < RF_FA_BK / 16; j++) rf_mma_zero(s[j]);
#pragma unroll
            for (int k = 0; k < HD; k += 16) {
                const rf_mma_frag a = rf_mma_load_a(sq + 16 * wave * LQ + k, LQ);
#pragma unroll
                for (int j = 0; j < RF_FA_BK / 16; j++) rf_mma(s[j], a, rf_mma_load_b(sk + 16 * j * LQ + k, LQ));
            }
#pragma unroll
            for (int j = 0; j < RF_FA_BK / 16; j++)
#pragma unroll
                for (int e = 0; e < RF_MMA_ACC; e++) {
                    int mm, nn;
                    rf_mma_acc_mn(e, mm, nn);
                    const int64_t t = q0 + 16 * wave + mm, p = pos0 + t, key = k0 + 16 * j + nn;
                    const bool off = t >= n_tok || key > p || (window > 0 && key < p - window + 1);
                    ss[wave][mm * RF_FA_BK + 16 * j + nn] = off ? -INFINITY : s[j].v[e];
                }
        }
        __syncthreads();

        { /* online softmax of this lane's part of its row; P as f16 */
            const float *sr = ss[wave] + row * RF_FA_BK + part * CPL;
            float mx = -INFINITY, sum = 0.0f;
            for (int c = 0; c < CPL; c++) mx = sr[c] > mx ? sr[c] : mx;
            for (int msk = 1; msk < L; msk <<= 1) {
                const float other = RF_SHFL_XOR(mx, msk, RF_WAVE);
                mx = other > mx ? other : mx;
            }
            const float mn = mx > m ? mx : m, corr = mn == -INFINITY ? 1.0f : expf(m - mn);
            uint16_t *pr = sp[wave] + row * LP + part * CPL;
            for (int c = 0; c < CPL; c += 2) {
                const float p0 = mn == -INFINITY ? 0.0f : expf(sr[c] - mn), p1 = mn == -INFINITY ? 0.0f : expf(sr[c + 1] - mn);
                sum += p0 + p1;
                *(uint32_t *)(pr + c) = rf_mma_pack2(p0, p1);
            }
            for (int msk = 1; msk < L; msk <<= 1) sum += RF_SHFL_XOR(sum, msk, RF_WAVE);
            m = mn, l = l * corr + sum;
            if (part == 0) srow[wave][row] = corr;
        }
        __syncthreads();

        { /* O = O * corr + P V */
#pragma unroll
            for (int j = 0; j < NO; j++)
#pragma unroll
                for (int e = 0; e < RF_MMA_ACC; e++) {
                    int mm, nn;
                    rf_mma_acc_mn(e, mm, nn);
                    o[j].v[e] *= srow[wave][mm];
                }
#pragma unroll
            for (int k = 0; k < RF_FA_BK; k += 16) {
                const rf_mma_frag a = rf_mma_load_a(sp[wave] + k, LP);
#pragma unroll
                for (int j = 0; j < NO; j++) rf_mma(o[j], a, rf_mma_load_b(svt + 16 * j * LV + k, LV));
            }
        }
        __syncthreads();
    }

    if (part == 0) srow[wave][row] = l;
    __syncthreads();
#pragma unroll
    for (int j = 0; j < NO; j++)
#pragma unroll
        for (int e = 0; e < RF_MMA_ACC; e++) {
            int mm, nn;
            rf_mma_acc_mn(e, mm, nn);
            const int64_t t = q0 + 16 * wave + mm;
            if (t < n_tok) out[t * nh * HD + h * HD + 16 * j + nn] = o[j].v[e] / srow[wave][mm];
        }
}
