/* Embedding lookup: row ids[t] of the token matrix, dequantized (any GEMV type), times a scale
   (sqrt(n_embd) for Gemma). One thread per 32-value chunk.

   Bandwidth: one row per token (a few KB): negligible. */

template <int T>
__global__ void rf_embed_kernel(float *out, int64_t ld, const uint8_t *w, int64_t ne0, uint64_t row_bytes,
                                const int32_t *ids, int64_t n_tok, float scale) {
    const int64_t nc = rf_n_chunks(ne0);
    RF_GRID_STRIDE(i, n_tok * nc) {
        const int64_t t = i / nc, c = i % nc;
        float v[32];
        rf_dq32<T>(w + (uint64_t)ids[t] * row_bytes, c, ne0, v);
        for (int j = 0; j < 32 && 32 * c + j < ne0; j++) out[t * ld + 32 * c + j] = scale == 1.0f ? v[j] : v[j] * scale;
    }
}
