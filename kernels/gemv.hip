/* Dequantizing matrix-vector product, batched over up to RF_GEMV_TILE tokens: y = W x.

   One wave per output row; lane l takes 32-weight chunks l, l + wave, l + 2 wave, ... of the row,
   dequantizes each chunk once into registers and multiplies it with the same 32 activations of
   every token of the tile, so prefill reads each weight once per RF_GEMV_TILE tokens instead of
   once per token (a batched GEMV: the SIMT fallback of the matrix-core GEMM we do not have yet).

   Bandwidth: decode reads row_bytes * ne1 bytes of weights and 4 * ne0 of activations per token;
   a 4096 x 4096 Q4_0 matrix is 9.4 MB, 3 us at the H100's 3.1 TB/s. This kernel is ALU-bound
   well before that (a float multiply-add and ~4 integer ops per weight, no dp4a): expect 25-35%
   of peak bandwidth (ANCHORS.md's float-dequant probe reached 35%). It is the correct,
   every-type baseline that the tuned per-type kernels will be tested against. */

#define RF_GEMV_TILE 8

template <int T, int NT>
__global__ void rf_gemv_kernel(const uint8_t *w, int64_t ne0, int64_t ne1, uint64_t row_bytes, const float *x,
                               int64_t ldx, float *y, int64_t ldy, int64_t n_tok, const int32_t *expert,
                               uint64_t expert_stride) {
    const int lane = threadIdx.x % RF_WAVE, nw = blockDim.x / RF_WAVE;
    const int64_t r = (int64_t)blockIdx.x * nw + threadIdx.x / RF_WAVE, t0 = (int64_t)blockIdx.y * NT;
    const int64_t nc = rf_n_chunks(ne0);
    float acc[NT];
    if (r >= ne1) return; /* the whole wave leaves together: no shuffle is left waiting */
    if (expert) w += (uint64_t)expert[0] * expert_stride;
    const uint8_t *row = w + (uint64_t)r * row_bytes;
    for (int t = 0; t < NT; t++) acc[t] = 0.0f;
    for (int64_t c = lane; c < nc; c += RF_WAVE) {
        float wv[32];
        const int64_t lim = ne0 - 32 * c < 32 ? ne0 - 32 * c : 32;
        rf_dq32<T>(row, c, ne0, wv);
        for (int t = 0; t < NT; t++) {
            if (t0 + t >= n_tok) break;
            const float *xp = x + (t0 + t) * ldx + 32 * c;
            float a = 0.0f;
            for (int j = 0; j < lim; j++) a += wv[j] * xp[j];
            acc[t] += a;
        }
    }
    for (int t = 0; t < NT; t++) {
        if (t0 + t >= n_tok) break;
        float s = rf_wave_sum(acc[t], RF_WAVE);
        if (lane == 0) y[(t0 + t) * ldy + r] = s;
    }
}

template <int T>
static void rf_gemv_launch(dim3 grid1, dim3 gridn, int threads, hipStream_t st, const uint8_t *w, int64_t ne0,
                           int64_t ne1, uint64_t rb, const float *x, int64_t ldx, float *y, int64_t ldy,
                           int64_t n_tok, const int32_t *ex, uint64_t es) {
    if (n_tok == 1)
        rf_gemv_kernel<T, 1><<<grid1, threads, 0, st>>>(w, ne0, ne1, rb, x, ldx, y, ldy, n_tok, ex, es);
    else
        rf_gemv_kernel<T, RF_GEMV_TILE><<<gridn, threads, 0, st>>>(w, ne0, ne1, rb, x, ldx, y, ldy, n_tok, ex, es);
}
