/* simd_x86_attn: AVX2 kernels of attention over an f16 KV cache -- scores for a run of cached
   positions, the probability-weighted sum of their V rows, softmax.

   Prefill attends every row of a 512-token prompt to up to 512 positions: per layer and KV head
   ~130k (row, position) pairs, each a 64..256-wide dot and axpy. Called once per pair these spent
   more time in call overhead, horizontal sums and re-loading the output row than in arithmetic
   (perf, 1B prefill: 22% of the time in attention for ~2% of the multiply-adds). Here a run of
   positions is one call: qk takes four positions per pass (q loaded once for four, one
   horizontal reduction for four), pv keeps 64 output values in registers across the whole run. */

#if defined(RF__SIMD_X86)

static RF__AVX2 void rf__qk_f16_avx2(float *s, const float *q, const void *k, uint64_t stride, int64_t np, int64_t hd,
                                     float scale) {
    const uint8_t *kb = (const uint8_t *)k;
    int64_t p = 0, i;
    for (; p + 4 <= np; p += 4) {
        const uint8_t *k0 = kb + (uint64_t)p * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m128 r;
        float t[4] = {0, 0, 0, 0};
        for (i = 0; i + 8 <= hd; i += 8) {
            const __m256 qv = _mm256_loadu_ps(q + i);
            a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k0 + 2 * i))), qv, a0);
            a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k1 + 2 * i))), qv, a1);
            a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k2 + 2 * i))), qv, a2);
            a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k3 + 2 * i))), qv, a3);
        }
        for (; i < hd; i++) {
            t[0] += rf__x86_h2f(k0 + 2 * i) * q[i];
            t[1] += rf__x86_h2f(k1 + 2 * i) * q[i];
            t[2] += rf__x86_h2f(k2 + 2 * i) * q[i];
            t[3] += rf__x86_h2f(k3 + 2 * i) * q[i];
        }
        { /* [sum a0, sum a1, sum a2, sum a3] */
            __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
            r = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        }
        _mm_storeu_ps(s + p, _mm_mul_ps(_mm_add_ps(r, _mm_loadu_ps(t)), _mm_set1_ps(scale)));
    }
    for (; p < np; p++) s[p] = (float)rf__dot_f16_f32_avx2(kb + (uint64_t)p * stride, q, hd) * scale;
}

static RF__AVX2 void rf__pv_f16_avx2(float *out, const float *a, const void *v, uint64_t stride, int64_t np, int64_t hd) {
    const uint8_t *vb = (const uint8_t *)v;
    int64_t c = 0, p, i;
    for (; c + 64 <= hd; c += 64) { /* 64 outputs in eight named registers over the whole run (an
                                         array of eight stayed in memory: a store-load chain) */
        __m256 o0 = _mm256_loadu_ps(out + c), o1 = _mm256_loadu_ps(out + c + 8), o2 = _mm256_loadu_ps(out + c + 16),
               o3 = _mm256_loadu_ps(out + c + 24), o4 = _mm256_loadu_ps(out + c + 32), o5 = _mm256_loadu_ps(out + c + 40),
               o6 = _mm256_loadu_ps(out + c + 48), o7 = _mm256_loadu_ps(out + c + 56);
        for (p = 0; p < np; p++) {
            const __m256 ap = _mm256_set1_ps(a[p]);
            const uint8_t *vr = vb + (uint64_t)p * stride + 2 * c;
#define RF__X86_PV(u) o##u = _mm256_fmadd_ps(ap, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vr + 16 * (u)))), o##u)
            RF__X86_PV(0);
            RF__X86_PV(1);
            RF__X86_PV(2);
            RF__X86_PV(3);
            RF__X86_PV(4);
            RF__X86_PV(5);
            RF__X86_PV(6);
            RF__X86_PV(7);
#undef RF__X86_PV
        }
        _mm256_storeu_ps(out + c, o0);
        _mm256_storeu_ps(out + c + 8, o1);
        _mm256_storeu_ps(out + c + 16, o2);
        _mm256_storeu_ps(out + c + 24, o3);
        _mm256_storeu_ps(out + c + 32, o4);
        _mm256_storeu_ps(out + c + 40, o5);
        _mm256_storeu_ps(out + c + 48, o6);
        _mm256_storeu_ps(out + c + 56, o7);
    }
    for (; c + 8 <= hd; c += 8) {
        __m256 o = _mm256_loadu_ps(out + c);
        for (p = 0; p < np; p++)
            o = _mm256_fmadd_ps(_mm256_set1_ps(a[p]), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vb + (uint64_t)p * stride + 2 * c))), o);
        _mm256_storeu_ps(out + c, o);
    }
    for (p = 0; p < np; p++)
        for (i = c; i < hd; i++) out[i] += a[p] * rf__x86_h2f(vb + (uint64_t)p * stride + 2 * i);
}

/* max, then e^(x - max) with the SIMD exp and a float sum, then one scaling */
static RF__AVX2 void rf__softmax_avx2(float *x, int64_t n) {
    __m256 mv = _mm256_set1_ps(-INFINITY), sv = _mm256_setzero_ps();
    float mx, sum;
    int64_t i;
    if (n < 8) {
        rf__softmax_ref(x, n);
        return;
    }
    for (i = 0; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    {
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        mx = _mm_cvtss_f32(m);
    }
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = rf__x86_exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(mx)));
        _mm256_storeu_ps(x + i, e);
        sv = _mm256_add_ps(sv, e);
    }
    sum = rf__x86_hsum(sv);
    for (; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    {
        const __m256 inv = _mm256_set1_ps(1.0f / sum);
        for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
        for (; i < n; i++) x[i] *= 1.0f / sum;
    }
}

#endif /* RF__SIMD_X86 */
