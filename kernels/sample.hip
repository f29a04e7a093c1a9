/* Sampling on the device: the chain of src/sample.c's rf_sampler_sample from logits the device
   holds to one token id, so a decode step copies back 8 bytes instead of n_vocab floats.

     greedy (temperature <= 0)  argmax; ties to the lowest id
     else  top-k (1..RF_HIP_SAMPLE_K_MAX) -> top-p -> min-p -> temperature -> draw with the
           uniform number u the host passes (the host sampler's xoshiro stream)

   The stage conditions, the candidate order and the arithmetic (probabilities in double, summed
   in candidate order, top-p's mass compared at float precision) are rf_sampler_sample's, so the
   token is the CPU's for the same logits and u (tests/gpu/test_gpu_ops.c checks this); exp is
   the device's, which may differ from libm's in the last bit. NaN and -inf logits are not
   candidates, +inf counts as FLT_MAX, -0 as +0, as on the CPU.

   Top-k without a sort: a radix select on order-preserving 32-bit keys, 8 bits a pass (4
   passes: a 256-bin histogram of the keys under the prefix found so far, then the bin that
   holds the k-th largest), a pass that gathers the keys above the k-th and the ties at it
   (the lowest ids first, as the CPU's total order keeps), then a bitonic sort of <= 256
   candidates in shared memory. The rest works on those candidates only: exps in parallel,
   the sums in order by one thread.

   Bandwidth: 4 * n_vocab bytes read once (greedy) or 6 times (top-k: max, 4 radix passes,
   gather), 0.5 MB per pass for a 128k vocab, from L2 (the output GEMV has just written it):
   tens of microseconds at worst, against copying n_vocab floats to the host and running the
   chain there. One block: the launch and the block's L2 bandwidth bound it, not the chip. */

#define RF_SAMPLE_THREADS_MAX 1024

/* NaN and -inf are not candidates (key 0). Otherwise a key whose unsigned order is the float
   order of the logit as the CPU sees it (+inf as FLT_MAX, -0 as +0): >= 0x00800000. */
__device__ __forceinline__ uint32_t rf_sample_key(float f) {
    uint32_t u;
    if (f != f || f == -INFINITY) return 0;
    if (f == INFINITY) f = FLT_MAX;
    if (f == 0.0f) f = 0.0f; /* -0 == +0 to the CPU's comparisons */
    u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float rf_sample_logit(uint32_t key) {
    return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

/* out[0] = the token, out[1] = how many logits were candidates (0: every one was NaN or -inf;
   out[0] is 0 then, the CPU's answer). blockDim.x: whole waves, at most RF_SAMPLE_THREADS_MAX. */
__global__ void __launch_bounds__(RF_SAMPLE_THREADS_MAX)
rf_sample_kernel(const float *x, int64_t n, int32_t top_k, float top_p, float min_p, float temp, double u, int32_t *out) {
    __shared__ uint32_t hist[256], tcount[RF_SAMPLE_THREADS_MAX], wkey[RF_SAMPLE_THREADS_MAX / RF_WAVE_MIN];
    __shared__ int32_t wid[RF_SAMPLE_THREADS_MAX / RF_WAVE_MIN];
    __shared__ uint32_t ckey[RF_HIP_SAMPLE_K_MAX];
    __shared__ int32_t cid[RF_HIP_SAMPLE_K_MAX];
    __shared__ float lg[RF_HIP_SAMPLE_K_MAX];
    __shared__ double e[RF_HIP_SAMPLE_K_MAX];
    __shared__ uint32_t s_n_valid, s_prefix, s_need, s_eq, s_ngt, s_neq, s_n;
    __shared__ double s_mx;
    const int tid = threadIdx.x, bd = blockDim.x, lane = tid % RF_WAVE, wave = tid / RF_WAVE, nw = bd / RF_WAVE;
    uint32_t bkey = 0, nv = 0, prefix = 0, mask = 0, need, ngt, T;
    int32_t bid = 0;
    int64_t i;

    /* Pass 1: the count of candidates and the best one (largest key, lowest id). */
    for (i = tid; i < n; i += bd) {
        uint32_t k = rf_sample_key(x[i]);
        nv += k != 0;
        if (k > bkey) bkey = k, bid = (int32_t)i; /* i grows per thread: the first of equal keys stays */
    }
    for (int m = RF_WAVE / 2; m > 0; m >>= 1) {
        uint32_t ok = RF_SHFL_XOR(bkey, m, RF_WAVE);
        int32_t oi = RF_SHFL_XOR(bid, m, RF_WAVE);
        nv += RF_SHFL_XOR(nv, m, RF_WAVE);
        if (ok > bkey || (ok == bkey && oi < bid)) bkey = ok, bid = oi;
    }
    if (lane == 0) wkey[wave] = bkey, wid[wave] = bid, tcount[wave] = nv;
    __syncthreads();
    if (tid == 0) {
        for (int w = 1; w < nw; w++) {
            if (wkey[w] > wkey[0] || (wkey[w] == wkey[0] && wid[w] < wid[0])) wkey[0] = wkey[w], wid[0] = wid[w];
            tcount[0] += tcount[w];
        }
        s_n_valid = tcount[0];
    }
    __syncthreads();
    nv = s_n_valid;
    if (temp <= 0.0f || nv == 0) { /* greedy, or nothing to choose from */
        if (tid == 0) out[0] = nv ? wid[0] : 0, out[1] = (int32_t)nv;
        return;
    }

    /* Top-k: the k-th largest key T, how many ties at T to take (need), and how many there are. */
    need = (uint32_t)top_k;
    if (nv > need) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            uint32_t cur = 0, cnt = 0;
            for (int b = tid; b < 256; b += bd) hist[b] = 0;
            __syncthreads();
            /* Runs of one bin add once: logits share their top bits, and 150k atomics on a few
               shared addresses would serialize. */
            for (i = tid; i < n; i += bd) {
                uint32_t k = rf_sample_key(x[i]), b;
                if (!k || (k & mask) != prefix) continue;
                b = (k >> shift) & 255u;
                if (b != cur && cnt) atomicAdd(&hist[cur], cnt), cnt = 0;
                cur = b, cnt++;
            }
            if (cnt) atomicAdd(&hist[cur], cnt);
            __syncthreads();
            if (tid == 0) {
                uint32_t above = 0;
                int b = 255;
                for (; b > 0 && above + hist[b] < need; b--) above += hist[b];
                s_need = need - above, s_prefix = prefix | ((uint32_t)b << shift), s_eq = hist[b];
            }
            __syncthreads();
            need = s_need, prefix = s_prefix, mask |= 255u << shift;
        }
        T = prefix, ngt = (uint32_t)top_k - need;
    } else { /* k >= candidates: every candidate */
        T = 0, ngt = nv, need = 0;
        if (tid == 0) s_eq = 0;
    }
    if (tid == 0) s_ngt = 0, s_neq = 0;
    __syncthreads();
    {
        const int all_ties = s_eq == need;
        for (i = tid; i < n; i += bd) {
            uint32_t k = rf_sample_key(x[i]), at;
            if (k > T) at = atomicAdd(&s_ngt, 1u);
            else if (k == T && k && all_ties) at = ngt + atomicAdd(&s_neq, 1u);
            else continue;
            ckey[at] = k, cid[at] = (int32_t)i;
        }
        if (!all_ties) { /* more ties at T than places: the lowest ids, one contiguous span per thread */
            const int64_t seg = (n + bd - 1) / bd, lo = tid * seg, hi = lo + seg < n ? lo + seg : n;
            uint32_t c = 0, r;
            for (i = lo; i < hi; i++) c += rf_sample_key(x[i]) == T;
            tcount[tid] = c;
            __syncthreads();
            if (tid == 0)
                for (int t = 0, acc = 0; t < bd; t++) {
                    int v = (int)tcount[t];
                    tcount[t] = (uint32_t)acc, acc += v;
                }
            __syncthreads();
            r = tcount[tid];
            for (i = lo; i < hi && r < need; i++)
                if (rf_sample_key(x[i]) == T) ckey[ngt + r] = T, cid[ngt + r] = (int32_t)i, r++;
        }
    }
    __syncthreads();

    /* Order: the CPU's candidates are best first once top-k or top-p has run, else in id order. */
    {
        const uint32_t nsel = ngt + need;
        const int by_logit = (uint32_t)top_k < nv || (top_p < 1.0f && nsel > 1);
        uint32_t P = 1;
        while (P < nsel) P <<= 1;
        for (uint32_t j = nsel + tid; j < P; j += bd) ckey[j] = 0, cid[j] = 0x7fffffff; /* sorts last */
        __syncthreads();
        for (uint32_t size = 2; size <= P; size <<= 1)
            for (uint32_t stride = size / 2; stride > 0; stride >>= 1) {
                for (uint32_t a = tid; a < P; a += bd) {
                    const uint32_t b = a ^ stride;
                    if (b > a) {
                        const int b_first = by_logit ? (ckey[b] != ckey[a] ? ckey[b] > ckey[a] : cid[b] < cid[a]) : cid[b] < cid[a];
                        if (((a & size) == 0) == (b_first != 0)) {
                            uint32_t tk = ckey[a];
                            int32_t ti = cid[a];
                            ckey[a] = ckey[b], cid[a] = cid[b], ckey[b] = tk, cid[b] = ti;
                        }
                    }
                }
                __syncthreads();
            }
        for (uint32_t j = tid; j < nsel; j += bd) lg[j] = rf_sample_logit(ckey[j]);
        if (tid == 0) s_n = nsel;
        __syncthreads();
    }

    /* top-p, min-p, temperature, draw: rf__top_p, rf__min_p, rf__draw on s_n candidates. */
    for (int stage = 0; stage < 3; stage++) {
        const uint32_t nc = s_n;
        if (stage == 0 && !(top_p < 1.0f && nc > 1)) continue;
        if (stage == 1 && !(min_p > 0.0f && nc > 1)) continue;
        if (tid == 0) {
            double mx = lg[0];
            for (uint32_t j = 1; j < nc; j++) if (lg[j] > mx) mx = lg[j];
            s_mx = mx;
        }
        __syncthreads();
        for (uint32_t j = tid; j < nc; j += bd) e[j] = stage == 2 ? exp(((double)lg[j] - s_mx) / (double)temp) : exp((double)lg[j] - s_mx);
        __syncthreads();
        if (tid == 0) {
            double sum = 0.0, cum = 0.0;
            uint32_t j, kept = 0;
            for (j = 0; j < nc; j++) sum += e[j];
            if (stage == 0) {
                for (j = 0; j < nc; j++) {
                    cum += e[j] / sum;
                    if ((float)cum >= top_p) break;
                }
                if (j < nc) s_n = j + 1;
            } else if (stage == 1) {
                double pmax = 0.0;
                for (j = 0; j < nc; j++) if (e[j] / sum > pmax) pmax = e[j] / sum;
                for (j = 0; j < nc; j++)
                    if (e[j] / sum >= (double)min_p * pmax) lg[kept] = lg[j], cid[kept] = cid[j], kept++;
                s_n = kept;
            } else {
                const double target = u * sum;
                int32_t pick = cid[nc - 1]; /* rounding left target == sum: the last candidate */
                for (j = 0; j < nc; j++) {
                    cum += e[j];
                    if (target < cum) {
                        pick = cid[j];
                        break;
                    }
                }
                out[0] = pick, out[1] = (int32_t)nv;
            }
        }
        __syncthreads();
    }
}
