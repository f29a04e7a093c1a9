/* RMSNorm, one block per row: out = x / sqrt(mean(x^2) + eps) * w. The sum of squares is kept
   in double, as the CPU reference does (thousands of squares lose digits in float).

   Bandwidth: 8 bytes per value (read x, write out) plus the gain: 64 KB for a 4096-wide row of
   one token; launch-bound at batch 1, which is why the fused decode will fold it into the GEMV. */

__global__ void rf_rmsnorm_kernel(float *out, const float *x, const float *w, int64_t n, float eps) {
    __shared__ double scratch[RF_BLOCK_THREADS / RF_WAVE_MIN];
    RF_GRID_OPEN();
    RF_GRID_WAIT();
    const float *xr = x + (int64_t)blockIdx.x * n;
    float *orow = out + (int64_t)blockIdx.x * n;
    double ss = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += (double)xr[i] * xr[i];
    ss = rf_block_sum(ss, scratch);
    const float scale = rf_rms_inv(ss, n, eps);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) orow[i] = xr[i] * scale * (w ? w[i] : 1.0f);
}
