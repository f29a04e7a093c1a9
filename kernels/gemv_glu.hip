/* One decode token's gate and up projections, the gated activation and its int8 quantization in
   one launch: act_out = q8_0(act(W_gate x) * (W_up x)), the input of the down projection's int8
   GEMV. It replaces rf_gemv_q8_kernel over the stacked gate+up matrix followed by
   rf_act_q8_kernel's GLU form (two launches and a round trip of 2 * nff floats).

   W is the stacked matrix rf_hip_pack made of gate's nff rows, then up's (q4_0 or q8_0: their
   activations are q8_0, one scale per 32 values). Block b owns the 32 outputs j0 = 32 b ..
   j0 + 31, its 8 waves 4 each: wave w takes gate rows j0 + 4w .. + 3 and the up rows nff + the
   same, 8 rows, with rf_gemv_q8_kernel's lane-to-item pairing -- so every row's sum is the same
   float the two-launch path stores, and the quantization is rf_q8_0_seg over the same values:
   the bytes written equal rf_act_q8_kernel's. The 32 outputs meet in LDS; the first 32 lanes
   quantize them. Only for q8_0 activations: a q8_K scale would span 256 outputs (8 blocks). */

#define RF_GLU_ROWS 32 /* outputs per block: one q8_0 scale */
#define RF_GLU_WAVES 8 /* waves per block, 4 outputs each */

/* Item i's weights for a wave's 2P rows: P gate rows from j0, then the same rows of up. */
template <int T, int P>
__device__ __forceinline__ void rf_glu_w_load(const uint8_t *w, int64_t nff, int64_t ni, int64_t j0, int64_t i, rf_q8w (&wr)[2 * P]) {
#pragma unroll
    for (int r = 0; r < 2 * P; r++) rf_q8w_load<T>(w, 2 * nff, ni, r < P ? j0 + r : nff + j0 + r - P, i, wr[r]);
}

template <int T>
__global__ void rf_gemv_q8_glu_kernel(const uint8_t *w, int64_t ne0, int64_t nff, const uint8_t *act, const float *ss, float eps, int gelu,
                                      uint8_t *act_out) {
    constexpr int P = RF_GLU_ROWS / RF_GLU_WAVES, R = 2 * P; /* outputs per wave; rows: P gate, then P up */
    __shared__ float h[RF_GLU_ROWS];
    const int lane = threadIdx.x % RF_WAVE, wave = threadIdx.x / RF_WAVE;
    const int64_t j0 = (int64_t)blockIdx.x * RF_GLU_ROWS + (int64_t)wave * P, ni = ne0 / 32;
    float acc[R];
    rf_q8w wr[R];
    RF_GRID_OPEN();
#pragma unroll
    for (int r = 0; r < R; r++) acc[r] = 0.0f;
    rf_glu_w_load<T, P>(w, nff, ni, j0, lane < ni ? lane : ni - 1, wr);
    RF_GRID_WAIT(); /* the first weights are in flight while the kernel before may still run (kernels/port.hip) */
    for (int64_t i = lane; i < ni; i += RF_WAVE) {
        rf_q8act a;
        if (i != lane) rf_glu_w_load<T, P>(w, nff, ni, j0, i, wr);
        rf_q8act_load<T>(act, ne0, i, a);
#pragma unroll
        for (int r = 0; r < R; r++) acc[r] += rf_q8_dot<T>(wr[r], a, i);
    }
    const float rs = ss ? rf_rms_scale(ss, ne0, eps) : 1.0f; /* act from rf_gemv_q8_norm_kernel */
#pragma unroll
    for (int p = 0; p < P; p++) {
        const float g = rf_wave_sum(acc[p], RF_WAVE) * rs, u = rf_wave_sum(acc[P + p], RF_WAVE) * rs;
        if (lane == 0) h[wave * P + p] = rf_glu_act(g, gelu) * u;
    }
    __syncthreads();
    if (threadIdx.x < RF_WAVE) { /* the first wave; on wave64 its upper 32 lanes quantize a copy, unwritten */
        const int k = threadIdx.x % 32;
        const int64_t e = (int64_t)blockIdx.x * RF_GLU_ROWS + k;
        float d;
        int sum;
        const int q = rf_q8_0_seg(h[k], &d, &sum);
        if (threadIdx.x < 32) {
            act_out[e] = (uint8_t)(int8_t)q;
            if (k == 0) ((float *)(act_out + nff))[e / 32] = d;
            if (k % 16 == 0) ((int32_t *)(act_out + nff + 4 * (nff / 32)))[e / 16] = sum;
        }
    }
}
