/* KV cache append: the new tokens' k and v rows, rounded to f16 (round to nearest even, as the
   CPU's f16 cache does), at positions pos0 .. pos0 + n_tok - 1 of one layer's [n_ctx][kv_dim].

   Bandwidth: 4 bytes read and 2 written per value: 2 x 1 KB per token for an 8-kv-head 128-dim
   model. Launch-bound. */

__global__ void rf_kv_store_kernel(uint16_t *kc, uint16_t *vc, const float *k, const float *v, int64_t ld,
                                   int64_t kv_dim, int32_t pos0, int64_t n_tok) {
    RF_GRID_STRIDE(i, n_tok * kv_dim) {
        const int64_t t = i / kv_dim, j = i % kv_dim, dst = (pos0 + t) * kv_dim + j;
        kc[dst] = rf_f2h(k[t * ld + j]);
        vc[dst] = rf_f2h(v[t * ld + j]);
    }
}
