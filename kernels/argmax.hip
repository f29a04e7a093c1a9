/* Greedy sampling on the device: the index of the largest logit (the first on ties; NaN never
   wins), so a greedy decode step copies back 4 bytes instead of n_vocab floats.

   Bandwidth: 4 * n_vocab bytes (600 KB for a 150k vocab): one block is enough; the result is
   one int. */

__global__ void rf_argmax_kernel(const float *x, int64_t n, int32_t *out) {
    __shared__ float sv[RF_BLOCK_THREADS];
    __shared__ int32_t si[RF_BLOCK_THREADS];
    float bv = -INFINITY;
    int32_t bi = -1;
    RF_GRID_OPEN();
    RF_GRID_WAIT();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        if (x[i] > bv || (bi < 0 && x[i] == x[i])) bv = x[i], bi = (int32_t)i;
    sv[threadIdx.x] = bv;
    si[threadIdx.x] = bi;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (unsigned t = 1; t < blockDim.x; t++)
            if (si[t] >= 0 && (si[0] < 0 || sv[t] > sv[0] || (sv[t] == sv[0] && si[t] < si[0]))) sv[0] = sv[t], si[0] = si[t];
        *out = si[0] < 0 ? 0 : si[0];
    }
}
