/* Activations as int8, for the int8 GEMV (kernels/gemv_q8.hip): each row of n values becomes
   n signed bytes, a float scale per 32 values and the sum of every 16 quants, quantized by the
   CPU's recipe (kernels/quant_act.hip says which), so the int8 products equal the CPU's integer
   dot products exactly and only the float sums of them round differently:

     k_quant 0  q8_0: a scale per 32 values, |max| / 127 rounded to fp16
     k_quant 1  q8_K: a scale per 256 values, |max| / 127 in float (the K-quants' partner)

   Row t of the buffer starts at t * rf_act_q8_stride(n): [n int8][n / 32 float][n / 16 int32].

   Optionally fused with the op in front of it, so its launch and float round trip disappear:
   the RMSNorm (norm != NULL: x / rms(x) * norm, the floats rf_rmsnorm_kernel writes), or the
   gated activation (up != NULL: act(x) * up, act SiLU (glu 1) or tanh-GELU (glu 2), the floats
   rf_glu_kernel writes). Grid (n / 256 chunks, rows), blocks
   of RF_BLOCK_THREADS (256), one thread per value, so a single decode row spreads over as many
   CUs as it has 256-chunks (with the RMSNorm each block sums the whole row's squares itself:
   16 KB more read from L2 for a 4096-wide row, cheaper than a second launch); each 32 threads
   reduce their block's
   |max| by shuffles (segments of 32 lanes, on wave32 and wave64 alike), a q8_K super-block's 8
   segments meet in LDS; every division runs in parallel (the scalar recipe in double, as the
   CPU does it).

   Bandwidth: 4 bytes read and ~1.4 written per value: 23 KB for a 4096-wide row; launch-bound. */

__host__ __device__ __forceinline__ int64_t rf_act_q8_stride(int64_t n) { return (n + n / 8 + n / 4 + 15) / 16 * 16; }

/* |f| at most over a 32-lane segment, in double (NaN never wins a comparison on the CPU). */
__device__ __forceinline__ double rf_seg32_amax(float f) {
    double amax = fabs((double)f);
    if (amax != amax) amax = 0.0;
    for (int m = 16; m > 0; m >>= 1) {
        const double o = RF_SHFL_XOR(amax, m, 32);
        amax = o > amax ? o : amax;
    }
    return amax;
}
__device__ __forceinline__ int rf_seg16_sum(int q) {
    for (int m = 8; m > 0; m >>= 1) q += RF_SHFL_XOR(q, m, 16);
    return q;
}
/* q8_0 of 32 values held one per lane of a 32-lane segment, by the CPU's recipe: the lane's code,
   the block's scale in *d (|max| / 127 as rf__fp16_scale makes it: NaN -> 0, clamped to the fp16
   range, rounded to fp16) and in *sum16 the sum of the codes of the lane's 16-run. Every lane of
   the segment calls it. kernels/attention.hip quantizes its output with it too. */
__device__ __forceinline__ int rf_q8_0_seg(float f, float *d, int *sum16) {
    double s = rf_seg32_amax(f) / 127.0;
    if (s > 65504.0) s = 65504.0;
    *d = rf_h2f(rf_f2h((float)s));
    const int q = *d != 0.0f ? rf_round_clamp((double)f / *d, -127, 127) : 0;
    *sum16 = rf_seg16_sum(q);
    return q;
}

__global__ void rf_act_q8_kernel(int k_quant, const float *x, int64_t ldx, const float *norm, float eps, const float *up,
                                 int64_t ldu, int glu, int64_t n, uint8_t *act) {
    __shared__ double scratch[RF_BLOCK_THREADS / RF_WAVE_MIN];
    __shared__ double seg_max[RF_BLOCK_THREADS / 32];
    RF_GRID_OPEN();
    RF_GRID_WAIT();
    const float *xr = x + (int64_t)blockIdx.y * ldx, *ur = up ? up + (int64_t)blockIdx.y * ldu : NULL;
    uint8_t *row = act + (int64_t)blockIdx.y * rf_act_q8_stride(n);
    int8_t *qs = (int8_t *)row;
    float *dst_d = (float *)(row + n);
    int32_t *sums = (int32_t *)(row + n + 4 * (n / 32));
    const int j = threadIdx.x % 32, seg = threadIdx.x / 32;
    /* this block's 256 values (n is whole 32-blocks; with k_quant whole 256-blocks, one per block),
       loaded before the row's sum so the two reads overlap */
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    const int live = i < n;
    float f = live ? xr[i] : 0.0f, wn = norm && live ? norm[i] : 0.0f, uv = ur && live ? ur[i] : 0.0f;
    float scale = 1.0f;
    if (norm) {
        double ss = 0.0;
        if (n % 4 == 0 && !((uintptr_t)xr & 15)) { /* 16-byte loads, four in flight: the sum is a latency chain otherwise */
            const float4 *x4 = (const float4 *)xr;
#pragma unroll 4
            for (int64_t i = threadIdx.x; i < n / 4; i += blockDim.x) {
                const float4 v = x4[i];
                ss += (double)v.x * v.x + (double)v.y * v.y + (double)v.z * v.z + (double)v.w * v.w;
            }
        } else {
            for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += (double)xr[i] * xr[i];
        }
        ss = rf_block_sum(ss, scratch);
        scale = rf_rms_inv(ss, n, eps);
    }
    if (norm && live) f = f * scale * wn;
    if (ur && live) f = rf_glu_act(f, glu == 2) * uv;
    float d;
    int q, sum;
    if (k_quant) {
        f = f != f ? 0.0f : f > FLT_MAX ? FLT_MAX : f < -FLT_MAX ? -FLT_MAX : f;
        double amax = rf_seg32_amax(f);
        if (j == 0) seg_max[seg] = amax;
        __syncthreads();
        for (int k = 0; k < 8; k++) amax = seg_max[k] > amax ? seg_max[k] : amax;
        d = (float)(amax / 127.0);
        q = live && d != 0.0f ? rf_round_clamp((double)f / d, -127, 127) : 0;
        sum = rf_seg16_sum(q);
    } else {
        q = rf_q8_0_seg(f, &d, &sum); /* f is 0 past the end: q 0 */
    }
    if (!live) return;
    qs[i] = (int8_t)q;
    if (j == 0) dst_d[i / 32] = d;
    if (j % 16 == 0) sums[i / 16] = sum;
}
