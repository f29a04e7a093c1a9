/* Softmax over rows (max subtracted first; the sum in double, as the CPU does), and the MoE
   router built on it: the top k experts by probability (the first on ties, the CPU's selection
   order) and their probabilities renormalized to sum to 1.

   Bandwidth: n_expert values per token: negligible; one thread per row keeps the CPU's order. */

__device__ void rf_softmax_row(float *x, int64_t n) {
    float mx = -INFINITY;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    for (int64_t i = 0; i < n; i++) x[i] = (float)(x[i] / sum);
}

__global__ void rf_softmax_kernel(float *x, int64_t ld, int64_t n, int64_t rows) {
    RF_GRID_STRIDE(r, rows) rf_softmax_row(x + r * ld, n);
}

__global__ void rf_moe_route_kernel(float *logits, int64_t ld, int64_t n_expert, int64_t k, int64_t rows, int32_t *ids,
                                    float *weights) {
    RF_GRID_STRIDE(r, rows) {
        float *p = logits + r * ld, wsum = 0.0f;
        int32_t *id = ids + r * k;
        rf_softmax_row(p, n_expert);
        for (int64_t j = 0; j < k; j++) {
            int64_t best = -1;
            for (int64_t e = 0; e < n_expert; e++) {
                int taken = 0;
                for (int64_t i = 0; i < j; i++) taken |= id[i] == e;
                if (!taken && (best < 0 || p[e] > p[best])) best = e;
            }
            id[j] = (int32_t)best;
            wsum += p[best];
        }
        for (int64_t j = 0; j < k; j++) weights[r * k + j] = p[id[j]] / wsum;
    }
}
