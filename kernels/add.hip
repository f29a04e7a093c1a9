/* y += alpha * x: residual connections (ldx = n), biases (ldx = 0: one row for every token) and
   the MoE's weighted sum of experts (alpha times a router weight read on the device, so no
   copy back is needed to learn it).

   Bandwidth: 12 bytes per value. Launch-bound at batch 1. */

__global__ void rf_add_kernel(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t n, int64_t rows, float alpha,
                              const float *weight, int64_t wstride, int64_t widx) {
    RF_GRID_OPEN();
    RF_GRID_WAIT();
    RF_GRID_STRIDE(i, n * rows) {
        const int64_t r = i / n, j = i % n;
        const float a = weight ? alpha * weight[r * wstride + widx] : alpha;
        y[r * ldy + j] += a == 1.0f ? x[r * ldx + j] : a * x[r * ldx + j];
    }
}
