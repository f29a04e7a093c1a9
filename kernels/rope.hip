/* Rotary position embedding: pair i of each head rotates by pos * theta_i, theta_i =
   freq_scale * base^(-2i / n_rot) / factor_i (llama3's per-frequency factors). Normal RoPE pairs
   (2i, 2i + 1), NeoX (i, i + n_rot / 2). The angle is computed in double, like the CPU, so
   positions in the thousands keep their digits.

   Bandwidth: reads and writes q and k once (8 bytes per value); ~20 flops per pair. Negligible
   next to the projections that produce q and k. Grid: one block per token; threads over pairs
   and heads.
   pos_at != NULL: the first position is read on the device (a decode step replayed as a graph). */

/* The cosine and sine pair i turns by at position pos. */
__device__ __forceinline__ void rf_rope_cs(int64_t i, int64_t n_rot, int64_t pos, float base, float freq_scale, const float *factors,
                                           float *c, float *s) {
    double theta = (double)pos * freq_scale * pow((double)base, -2.0 * (double)i / (double)n_rot);
    if (factors) theta /= factors[i];
    *c = (float)cos(theta);
    *s = (float)sin(theta);
}

/* Heads 0 .. nhd - 1 of one token (head h at p + h * hd) rotated at position pos, the threads of
   the block over (pair, head) so that a pair's angle (a double cos and sin) is computed once for
   all the heads; heads from k0 on also go to kd + (h - k0) * hd as f16 (cache rows of k heads). */
__device__ __forceinline__ void rf_rope_heads(float *p, int64_t nhd, int64_t hd, int64_t n_rot, int64_t pos, float base,
                                              float freq_scale, const float *factors, int neox, uint16_t *kd, int64_t k0) {
    const int64_t half = n_rot / 2;
    int64_t g = half > 0 && (int64_t)blockDim.x >= half ? (int64_t)blockDim.x / half : 1; /* heads taken side by side */
    if (g > nhd) g = nhd;
    for (int64_t e = threadIdx.x; e < g * half; e += blockDim.x) {
        const int64_t i = e % half, i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
        float c, s;
        rf_rope_cs(i, n_rot, pos, base, freq_scale, factors, &c, &s);
        for (int64_t h = e / half; h < nhd; h += g) {
            float *q = p + h * hd;
            const float x0 = q[i0], x1 = q[i1], y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
            q[i0] = y0;
            q[i1] = y1;
            if (kd && h >= k0) {
                kd[(h - k0) * hd + i0] = rf_f2h(y0);
                kd[(h - k0) * hd + i1] = rf_f2h(y1);
            }
        }
    }
}

__global__ void rf_rope_kernel(float *x, int64_t ld, int64_t n_heads, int64_t hd, int64_t n_rot, int32_t pos0,
                               const int32_t *pos_at, float base, float freq_scale, const float *factors, int neox) {
    if (pos_at) pos0 = *pos_at;
    rf_rope_heads(x + (int64_t)blockIdx.x * ld, n_heads, hd, n_rot, pos0 + (int64_t)blockIdx.x, base, freq_scale, factors, neox,
                  NULL, 0);
}
