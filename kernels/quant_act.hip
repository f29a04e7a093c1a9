/* Activation quantization, as the CPU does it before every quantized matvec: x becomes q8_0 /
   q8_1 (32-blocks, fp16 scale) or q8_K (256-blocks, float scale) and is handed back dequantized,
   xq = d * q. The GEMV then multiplies weights by xq: the same products as the CPU's integer
   dot products, so GPU and CPU logits agree to float rounding rather than to the q8 error
   (~0.4% of a value), and greedy tokens match. The scale and rounding replicate
   rf__quant_absmax32 / rf__quant_q8_K in double precision.

   Bandwidth: reads and writes 4 bytes per value once: 64 KB for a 8192-wide activation, noise
   next to the matrix it feeds. One thread per block keeps the scalar recipe literal. */

__device__ __forceinline__ int rf_round_clamp(double v, int lo, int hi) {
    if (!(v == v)) v = 0.0;
    if (v <= (double)lo) return lo;
    if (v >= (double)hi) return hi;
    return (int)(v < 0 ? -floor(-v + 0.5) : floor(v + 0.5));
}

__global__ void rf_quant_act_kernel(int bs, int k_quant, const float *x, int64_t ldx, float *xq, int64_t n,
                                    int64_t rows) {
    const int64_t nb = n / bs;
    RF_GRID_STRIDE(i, rows * nb) {
        const int64_t rr = i / nb, b = i % nb;
        const float *xp = x + rr * ldx + b * bs;
        float *op = xq + rr * n + b * bs;
        double m = 0.0;
        float d;
        for (int j = 0; j < bs; j++) {
            float v = xp[j];
            if (k_quant) v = v != v ? 0.0f : v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v;
            if (fabs((double)v) > fabs(m)) m = (double)v;
        }
        if (k_quant) {
            d = (float)(fabs(m) / 127.0);
        } else { /* rf__fp16_scale: NaN -> 0, clamp to the fp16 range, round to fp16 */
            double s = fabs(m) / 127.0;
            if (!(s == s)) s = 0.0;
            if (s > 65504.0) s = 65504.0;
            d = rf_h2f(rf_f2h((float)s));
        }
        for (int j = 0; j < bs; j++) {
            float v = xp[j];
            if (k_quant) v = v != v ? 0.0f : v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v;
            int q = d != 0.0f ? rf_round_clamp((double)v / d, -127, 127) : 0;
            op[j] = (float)q * d;
        }
    }
}
