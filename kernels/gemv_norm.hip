/* One decode token's GEMV into the residual stream that also makes the next RMSNorm's int8 input:
   x += W act, then act_out = q8_0(x * norm) and ss[b] = the sum of x^2 over outputs 32 b ..
   32 b + 31. It replaces rf_gemv_q8_kernel's accumulating form followed by rf_act_q8_kernel's
   RMSNorm form: one launch a norm fewer, two a layer.

   The RMSNorm multiplies x * norm by 1 / rms(x), which needs all of x: no block sees it. But a
   q8_0 block's quants do not change when all its values are scaled by one positive number (its
   scale does, by that number), so the quants of x * norm are the normed row's, up to rounding,
   and the GEMV that reads act_out multiplies its sums by 1 / rms, which it computes from ss
   (rf_rms_scale in kernels/gemv_q8.hip). The scales are kept as floats, where rf_act_q8_kernel
   rounds them to f16 as the CPU's q8_0 does: x * norm is not normalized, and a small residual
   (rms 1e-3) would put them among f16's subnormals.

   Work split as rf_gemv_q8_glu_kernel's: block b owns outputs 32 b .. 32 b + 31, its W waves
   32 / W rows each, with rf_gemv_q8_kernel's lane-to-item pairing (U items in flight per lane
   and row): every output is the float the two-launch path adds to x. */

#define RF_NORM_ROWS 32 /* outputs per block: one q8_0 block of act_out */
#define RF_NORM_WAVES 8 /* waves per block: 4 rows each */
#define RF_NORM_U 2     /* items per lane and row in flight: 8 with the 4 rows, as rf_gemv_q8_glu_kernel's 8 rows of 1 */

/* W waves per block, 32 / W rows each, U items per lane in flight for each row. */
template <int T, int W, int U>
__global__ void rf_gemv_q8_norm_kernel(const uint8_t *w, int64_t ne0, int64_t ne1, const uint8_t *act, float *x, const float *norm,
                                       uint8_t *act_out, float *ss) {
    constexpr int P = RF_NORM_ROWS / W;
    __shared__ float h[RF_NORM_ROWS];
    const int lane = threadIdx.x % RF_WAVE, wave = threadIdx.x / RF_WAVE;
    const int64_t j0 = (int64_t)blockIdx.x * RF_NORM_ROWS + (int64_t)wave * P, ni = ne0 / 32;
    float acc[P];
    rf_q8w wr[U][P];
    RF_GRID_OPEN();
#pragma unroll
    for (int r = 0; r < P; r++) acc[r] = 0.0f;
    rf_q8w_load_round<T, U, P>(w, ne1, ni, j0, lane, wr);
    RF_GRID_WAIT(); /* the first weights are in flight while the kernel before may still run (kernels/port.hip) */
    for (int64_t i0 = lane; i0 < ni; i0 += U * RF_WAVE) {
        if (i0 != lane) rf_q8w_load_round<T, U, P>(w, ne1, ni, j0, i0, wr);
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int64_t i = i0 + (int64_t)u * RF_WAVE;
            rf_q8act a;
            if (i >= ni) break;
            rf_q8act_load<T>(act, ne0, i, a);
#pragma unroll
            for (int r = 0; r < P; r++) acc[r] += rf_q8_dot<T>(wr[u][r], a, i);
        }
    }
#pragma unroll
    for (int p = 0; p < P; p++) {
        const float s = rf_wave_sum(acc[p], RF_WAVE);
        if (lane == 0) h[wave * P + p] = s;
    }
    __syncthreads();
    if (threadIdx.x < RF_WAVE) { /* the first wave; on wave64 its upper 32 lanes compute a copy, unwritten */
        const int k = threadIdx.x % 32;
        const int64_t e = (int64_t)blockIdx.x * RF_NORM_ROWS + k;
        const float xn = x[e] + h[k], f = xn * norm[e];
        const float d = (float)(rf_seg32_amax(f) / 127.0);
        const int q = d != 0.0f ? rf_round_clamp((double)f / d, -127, 127) : 0, sum = rf_seg16_sum(q);
        const float s2 = rf_wave_sum(xn * xn, 32);
        if (threadIdx.x < 32) {
            x[e] = xn;
            act_out[e] = (uint8_t)(int8_t)q;
            if (k == 0) ((float *)(act_out + ne1))[e / 32] = d, ss[blockIdx.x] = s2;
            if (k % 16 == 0) ((int32_t *)(act_out + ne1 + 4 * (ne1 / 32)))[e / 16] = sum;
        }
    }
}
