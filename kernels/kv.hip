/* KV cache append: the new tokens' k and v rows, rounded to f16 (round to nearest even, as the
   CPU's f16 cache does), at positions pos0 .. pos0 + n_tok - 1 of one layer's [n_ctx][kv_dim].

   Bandwidth: 4 bytes read and 2 written per value: 2 x 1 KB per token for an 8-kv-head 128-dim
   model. Launch-bound. pos_at != NULL: the first position is read on the device. */

__global__ void rf_kv_store_kernel(uint16_t *kc, uint16_t *vc, const float *k, const float *v, int64_t ld,
                                   int64_t kv_dim, int32_t pos0, const int32_t *pos_at, int64_t n_tok) {
    if (pos_at) pos0 = *pos_at;
    RF_GRID_STRIDE(i, n_tok * kv_dim) {
        const int64_t t = i / kv_dim, j = i % kv_dim, dst = (pos0 + t) * kv_dim + j;
        kc[dst] = rf_f2h(k[t * ld + j]);
        vc[dst] = rf_f2h(v[t * ld + j]);
    }
}

/* q, k, v stacked in each row (x: [n_tok][ld], nh q heads, then nkv k heads, then nkv v heads):
   the q heads rotated in place, the k heads rotated and, with the v heads, appended to the f16
   cache -- rf_rope_kernel twice and rf_kv_store_kernel in one launch. Each thread writes the
   cache values it computed, so nothing waits on a barrier. One block per token. */
__global__ void rf_rope_kv_kernel(float *x, int64_t ld, int64_t nh, int64_t nkv, int64_t hd, int64_t n_rot, int32_t pos0,
                                  const int32_t *pos_at, float base, float freq_scale, const float *factors, int neox,
                                  uint16_t *kc, uint16_t *vc) {
    const int64_t t = blockIdx.x, kv_dim = nkv * hd, tail = hd - n_rot;
    float *row = x + t * ld;
    if (pos_at) pos0 = *pos_at;
    const int64_t dst = (pos0 + t) * kv_dim;
    for (int64_t e = threadIdx.x; e < kv_dim; e += blockDim.x) vc[dst + e] = rf_f2h(row[(nh + nkv) * hd + e]);
    for (int64_t e = threadIdx.x; e < nkv * tail; e += blockDim.x) { /* the k heads' unrotated dims */
        const int64_t o = (e / tail) * hd + n_rot + e % tail;
        kc[dst + o] = rf_f2h(row[nh * hd + o]);
    }
    rf_rope_heads(row, nh + nkv, hd, n_rot, pos0 + t, base, freq_scale, factors, neox, kc + dst, nh);
}
