/* Attention for a batch of queries over the f16 KV cache: causal (query t sees positions up to
   its own, pos0 + t), grouped-query (head h reads kv head h / (nh / nkv)), optionally a sliding
   window (the last `window` positions). One block per (head, query); each wave walks every
   nw-th position with an online softmax (running max m, sum l, rescaled accumulator), so the
   scores never leave registers; the waves' partial results are merged through LDS at the end.
   Split-K over waves is what keeps a single decode query from running on one wave only.

   Bandwidth: reads 2 * hd * 2 bytes of cache per position per head (per kv head would be the
   floor; GQA re-reads through L2). A 4096-position decode of an 8-kv-head 128-dim layer is 16 MB
   of k and v per layer: at 3.1 TB/s 5 us. The per-lane q and accumulator are hd / wave values
   (at most RF_HEAD_DIM_MAX / RF_WAVE_MIN = 8). pos_at != NULL: pos0 is read on the device. */

#define RF_ATT_PER_LANE (RF_HEAD_DIM_MAX / RF_WAVE_MIN)

__global__ void rf_attention_kernel(float *out, const float *q, int64_t ldq, const uint16_t *kc, const uint16_t *vc,
                                    int64_t nh, int64_t nkv, int64_t hd, int32_t pos0, const int32_t *pos_at, int64_t window,
                                    float scale) {
    extern __shared__ float sh[]; /* [nw][hd] accumulators, then [nw] maxima, [nw] sums */
    const int lane = threadIdx.x % RF_WAVE, wave = threadIdx.x / RF_WAVE, nw = blockDim.x / RF_WAVE;
    const int64_t h = blockIdx.x, t = blockIdx.y, p = (pos_at ? *pos_at : pos0) + t, kv_dim = nkv * hd;
    const int64_t t0 = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
    const int64_t kvoff = (h / (nh / nkv)) * hd;
    const float *qh = q + t * ldq + h * hd;
    float qv[RF_ATT_PER_LANE], acc[RF_ATT_PER_LANE], m = -INFINITY, l = 0.0f;
    for (int j = 0; j < RF_ATT_PER_LANE; j++) {
        const int64_t dd = lane + (int64_t)j * RF_WAVE;
        qv[j] = dd < hd ? qh[dd] : 0.0f;
        acc[j] = 0.0f;
    }
    for (int64_t s = t0 + wave; s <= p; s += nw) {
        const uint16_t *kr = kc + s * kv_dim + kvoff, *vr = vc + s * kv_dim + kvoff;
        float dot = 0.0f;
        for (int j = 0; j < RF_ATT_PER_LANE; j++) {
            const int64_t dd = lane + (int64_t)j * RF_WAVE;
            if (dd < hd) dot += qv[j] * rf_h2f(kr[dd]);
        }
        dot = rf_wave_sum(dot, RF_WAVE) * scale;
        const float mn = dot > m ? dot : m, corr = expf(m - mn), e = expf(dot - mn);
        l = l * corr + e;
        for (int j = 0; j < RF_ATT_PER_LANE; j++) {
            const int64_t dd = lane + (int64_t)j * RF_WAVE;
            if (dd < hd) acc[j] = acc[j] * corr + e * rf_h2f(vr[dd]);
        }
        m = mn;
    }
    float *sacc = sh, *sm = sh + (int64_t)nw * hd, *sl = sm + nw;
    for (int j = 0; j < RF_ATT_PER_LANE; j++) {
        const int64_t dd = lane + (int64_t)j * RF_WAVE;
        if (dd < hd) sacc[(int64_t)wave * hd + dd] = acc[j];
    }
    if (lane == 0) {
        sm[wave] = m;
        sl[wave] = l;
    }
    __syncthreads();
    float M = -INFINITY, L = 0.0f;
    for (int w = 0; w < nw; w++) M = sm[w] > M ? sm[w] : M;
    for (int w = 0; w < nw; w++)
        if (sm[w] != -INFINITY) L += sl[w] * expf(sm[w] - M);
    for (int64_t dd = threadIdx.x; dd < hd; dd += blockDim.x) {
        float num = 0.0f;
        for (int w = 0; w < nw; w++)
            if (sm[w] != -INFINITY) num += sacc[(int64_t)w * hd + dd] * expf(sm[w] - M);
        out[t * nh * hd + h * hd + dd] = num / L;
    }
}
