/* Attention for a batch of queries over the f16 KV cache: causal (query t sees positions up to
   its own, pos0 + t), grouped-query (head h reads kv head h / (nh / nkv)), optionally a sliding
   window (the last `window` positions). One block per (head, query); the positions go by in
   tiles of one per thread:
     scores  each thread dots the query (in LDS, read as a broadcast) with its position's key
             row, in 16-byte loads where the head size allows: a tile's keys load all at once;
     softmax the tile's max and sum over the block, folded into the running max M and sum L
             (online softmax: the accumulators are rescaled when M grows);
     values  thread (g, l) sums 8 dimensions g of every P-th position of the tile, from l on
             (P = threads / (hd / 8)): the value rows load 16 bytes a thread, P rows at a time.
   The P partial sums of each dimension meet in LDS at the end. A decode query of a few hundred
   positions is then a few rounds of loads, not one per position.

   Bandwidth: reads 2 * hd * 2 bytes of cache per position per head (per kv head would be the
   floor; GQA re-reads through L2). A 4096-position decode of an 8-kv-head 128-dim layer is 16 MB
   of k and v per layer: at 3.1 TB/s 5 us. LDS: rf_attention_lds. pos_at != NULL: pos0 is read
   on the device. act != NULL: the output also as q8_0 activations (kernels/act_q8.hip), the
   launch that would quantize it for the output projection folded in.

   One decode token with q, k, v stacked in its row (knew != NULL: the new k heads, then the v
   heads) takes rf_rope_kv_kernel's work as well: each block rotates its q head and its kv head's
   new k, the first block of every kv group appends k and v to the cache, and position p is
   scored from the block's own copy in LDS (no block waits for another's write), after the
   cached positions. */

struct rf_rope_arg { /* RoPE's parameters (rf_rope_cs) */
    int64_t n_rot;
    float base, freq_scale;
    const float *factors;
    int neox;
};

#define RF_ATT_VW 8 /* f16 values per 16-byte load */
#define RF_ATT_PRE_K 16 /* a decode step's first tile, loaded before RF_GRID_WAIT: a key row of up to 128 values */
#define RF_ATT_PRE_V 8  /* and up to 8 value loads per thread */

/* LDS floats: the query, a tile's probabilities, the partial sums, a reduction's scratch, the
   new k and v. */
__host__ __device__ __forceinline__ int64_t rf_attention_lds(int64_t hd, int64_t threads) {
    return hd + threads + threads * RF_ATT_VW + threads / RF_WAVE_MIN + 2 * hd;
}

/* The dot of 8 floats with 8 f16 (one 16-byte load), and acc += e * those 8 f16. */
__device__ __forceinline__ float rf_att_dot8(const float *q, uint4 k8) {
    return q[0] * rf_h2f_lo(k8.x) + q[1] * rf_h2f_hi(k8.x) + q[2] * rf_h2f_lo(k8.y) + q[3] * rf_h2f_hi(k8.y) + q[4] * rf_h2f_lo(k8.z) +
           q[5] * rf_h2f_hi(k8.z) + q[6] * rf_h2f_lo(k8.w) + q[7] * rf_h2f_hi(k8.w);
}
__device__ __forceinline__ void rf_att_axpy8(float *acc, float e, uint4 v8) {
    acc[0] += e * rf_h2f_lo(v8.x), acc[1] += e * rf_h2f_hi(v8.x), acc[2] += e * rf_h2f_lo(v8.y), acc[3] += e * rf_h2f_hi(v8.y);
    acc[4] += e * rf_h2f_lo(v8.z), acc[5] += e * rf_h2f_hi(v8.z), acc[6] += e * rf_h2f_lo(v8.w), acc[7] += e * rf_h2f_hi(v8.w);
}

__global__ void rf_attention_kernel(float *out, const float *q, int64_t ldq, uint16_t *kc, uint16_t *vc, int64_t nh,
                                    int64_t nkv, int64_t hd, int32_t pos0, const int32_t *pos_at, int64_t window, float scale,
                                    uint8_t *act, const float *knew, rf_rope_arg ro) {
    extern __shared__ float sh[];
    RF_GRID_OPEN();
    const int nt = blockDim.x, tid = threadIdx.x;
    const int64_t h = blockIdx.x, t = blockIdx.y, p = (pos_at ? *pos_at : pos0) + t, kv_dim = nkv * hd;
    const int64_t t0 = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
    const int64_t kvoff = (h / (nh / nkv)) * hd;
    /* whole, 16-byte aligned groups of 8 values in every row */
    const int vec = hd % RF_ATT_VW == 0 && kv_dim % RF_ATT_VW == 0 && !((uintptr_t)kc & 15) && !((uintptr_t)vc & 15);
    const int vw = vec ? RF_ATT_VW : 1, ng = (int)(hd / vw), np = nt / ng, g = tid % ng, l = tid / ng;
    float *sq = sh, *se = sq + hd, *sacc = se + nt, *scr = sacc + (int64_t)nt * RF_ATT_VW, *sk = scr + nt / RF_WAVE_MIN, *sv = sk + hd;
    float acc[RF_ATT_VW], M = -INFINITY, L = 0.0f;
    const int64_t last = knew ? p - 1 : p; /* the last position read from the cache */
    /* A decode step (knew) reads from the cache only positions that earlier steps wrote, and
       every earlier step is done: the host waited for its logits (or its pick) before it fed this
       token. So its first tile of keys and values loads before RF_GRID_WAIT -- an exception to
       kernels/port.hip's rule that holds for these rows alone -- while the q, k, v projection
       before it still runs: the wait then costs no round trip to the cache. */
    const int pre = knew && vec && hd <= RF_ATT_VW * RF_ATT_PRE_K;
    const int cnt0 = last - t0 + 1 < nt ? (int)(last - t0 + 1) : nt; /* the first tile's positions */
    uint4 kpre[RF_ATT_PRE_K], vpre[RF_ATT_PRE_V];
    if (pre) {
        const uint16_t *kr = kc + (t0 + tid) * kv_dim + kvoff;
#pragma unroll
        for (int j = 0; j < RF_ATT_PRE_K; j++)
            if (tid < cnt0 && j * RF_ATT_VW < hd) kpre[j] = *(const uint4 *)(kr + j * RF_ATT_VW);
#pragma unroll
        for (int j = 0; j < RF_ATT_PRE_V; j++)
            if (l < np && l + j * np < cnt0) vpre[j] = *(const uint4 *)(vc + (t0 + l + j * np) * kv_dim + kvoff + RF_ATT_VW * g);
    }
    RF_GRID_WAIT();
    if (knew) { /* RoPE of q and the new k into LDS, v beside them */
        const float *qh = q + h * hd, *kh = knew + kvoff, *vh = knew + kv_dim + kvoff;
        for (int64_t i = tid; i < hd; i += nt) {
            if (i >= ro.n_rot) sq[i] = qh[i], sk[i] = kh[i];
            sv[i] = vh[i];
        }
        for (int64_t i = tid; i < ro.n_rot / 2; i += nt) {
            const int64_t i0 = ro.neox ? i : 2 * i, i1 = ro.neox ? i + ro.n_rot / 2 : 2 * i + 1;
            const float q0 = qh[i0], q1 = qh[i1], k0 = kh[i0], k1 = kh[i1];
            float c, sn;
            rf_rope_cs(i, ro.n_rot, p, ro.base, ro.freq_scale, ro.factors, &c, &sn);
            sq[i0] = q0 * c - q1 * sn, sq[i1] = q0 * sn + q1 * c;
            sk[i0] = k0 * c - k1 * sn, sk[i1] = k0 * sn + k1 * c;
        }
        __syncthreads();
        for (int64_t i = tid; i < hd; i += nt) { /* to f16, as the cache holds them */
            const uint16_t kb = rf_f2h(sk[i]), vb = rf_f2h(sv[i]);
            if (h % (nh / nkv) == 0) kc[p * kv_dim + kvoff + i] = kb, vc[p * kv_dim + kvoff + i] = vb;
            sk[i] = rf_h2f(kb), sv[i] = rf_h2f(vb);
        }
    } else {
        for (int64_t dd = tid; dd < hd; dd += nt) sq[dd] = q[t * ldq + h * hd + dd];
    }
    for (int j = 0; j < RF_ATT_VW; j++) acc[j] = 0.0f;
    __syncthreads();
    float sc0 = -INFINITY; /* the first tile's score from the preloaded key */
    if (pre && tid < cnt0) {
        float d0 = 0.0f;
#pragma unroll
        for (int j = 0; j < RF_ATT_PRE_K; j++)
            if (j * RF_ATT_VW < hd) d0 += rf_att_dot8(sq + j * RF_ATT_VW, kpre[j]);
        sc0 = d0 * scale;
    }
    for (int64_t c0 = t0; c0 <= last; c0 += nt) {
        const int64_t s = c0 + tid;
        float sc = -INFINITY;
        if (pre && c0 == t0) {
            sc = sc0;
        } else if (s <= last) {
            const uint16_t *kr = kc + s * kv_dim + kvoff;
            float d0 = 0.0f;
            if (vec) {
#pragma unroll 4
                for (int64_t dd = 0; dd < hd; dd += RF_ATT_VW) d0 += rf_att_dot8(sq + dd, *(const uint4 *)(kr + dd));
            } else {
                for (int64_t dd = 0; dd < hd; dd++) d0 += sq[dd] * rf_h2f(kr[dd]);
            }
            sc = d0 * scale;
        }
        const float tm = rf_block_max(sc, scr), mn = tm > M ? tm : M, corr = expf(M - mn), e = s <= last ? expf(sc - mn) : 0.0f;
        se[tid] = e;
        L = L * corr + rf_block_sum(e, scr); /* its barrier also publishes se */
        M = mn;
        for (int j = 0; j < RF_ATT_VW; j++) acc[j] *= corr;
        const int cnt = last - c0 + 1 < nt ? (int)(last - c0 + 1) : nt;
        if (l < np && vec) {
            int k = l;
            if (pre && c0 == t0) /* the preloaded values first */
#pragma unroll
                for (int j = 0; j < RF_ATT_PRE_V; j++, k += np)
                    if (k < cnt) rf_att_axpy8(acc, se[k], vpre[j]);
#pragma unroll 4
            for (; k < cnt; k += np) rf_att_axpy8(acc, se[k], *(const uint4 *)(vc + (c0 + k) * kv_dim + kvoff + RF_ATT_VW * g));
        } else if (l < np) {
            for (int k = l; k < cnt; k += np) acc[0] += se[k] * rf_h2f(vc[(c0 + k) * kv_dim + kvoff + g]);
        }
    }
    if (knew) { /* position p, from LDS */
        float part = 0.0f;
        for (int64_t dd = tid; dd < hd; dd += nt) part += sq[dd] * sk[dd];
        const float sc = rf_block_sum(part, scr) * scale, mn = sc > M ? sc : M, corr = expf(M - mn), e = expf(sc - mn);
        L = L * corr + e;
        M = mn;
        for (int j = 0; j < RF_ATT_VW; j++) acc[j] *= corr;
        if (l == 0)
            for (int j = 0; j < vw; j++) acc[j] += e * sv[g * vw + j];
    }
    if (l < np)
        for (int j = 0; j < vw; j++) sacc[(int64_t)l * hd + g * vw + j] = acc[j];
    __syncthreads();
    for (int64_t dd = tid; dd < hd; dd += nt) { /* with act, hd is whole 32-blocks: a segment is in or out as one */
        float num = 0.0f;
        for (int k = 0; k < np; k++) num += sacc[(int64_t)k * hd + dd];
        const float o = num / L;
        const int64_t e = h * hd + dd, n = nh * hd;
        out[t * n + e] = o;
        if (act) { /* the output as rf_act_q8_kernel's q8_0 rows, for the next GEMV */
            uint8_t *row = act + t * rf_act_q8_stride(n);
            float d;
            int sum;
            ((int8_t *)row)[e] = (int8_t)rf_q8_0_seg(o, &d, &sum);
            if (e % 32 == 0) ((float *)(row + n))[e / 32] = d;
            if (e % 16 == 0) ((int32_t *)(row + n + 4 * (n / 32)))[e / 16] = sum;
        }
    }
}
