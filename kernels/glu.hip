/* Gated feed-forward activation: h = act(gate) * up, SiLU (SwiGLU) or tanh-GELU (GeGLU, Gemma's
   gelu_pytorch_tanh), the CPU's float formulas.

   Bandwidth: 12 bytes per value; n_ff = 14336 is 172 KB per token. Launch-bound at batch 1. */

__device__ __forceinline__ float rf_glu_act(float x, int gelu) {
    if (gelu) return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    return x / (1.0f + expf(-x));
}

__global__ void rf_glu_kernel(float *h, int64_t ldh, const float *g, int64_t ldg, const float *u, int64_t ldu,
                              int64_t n, int64_t rows, int gelu) {
    RF_GRID_OPEN();
    RF_GRID_WAIT();
    RF_GRID_STRIDE(i, n * rows) {
        const int64_t r = i / n, j = i % n;
        h[r * ldh + j] = rf_glu_act(g[r * ldg + j], gelu) * u[r * ldu + j];
    }
}
