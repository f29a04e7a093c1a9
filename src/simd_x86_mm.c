/* simd_x86_mm: AVX-512 VNNI kernels over many weight rows at once -- a multi-row matrix-vector
   product for decode and a packed int8 GEMM for prompt processing. simd_x86.c holds the one-row
   dot products these fall back to for a tail of rows.

   Decode (gemv): one token reads every weight once, so the kernel must consume a Q4_0 block in
   less time than the memory takes to deliver its 18 bytes (~3 cycles per core at 20 GB/s). The
   one-row dot spends ~5 cycles: a serial fma chain, two scalar fp16 conversions and two sign
   operations per block. Here four rows share one pass over the activation: one zmm holds a block
   of each of the four rows (16 nibble bytes each), the activation's 16-byte halves are broadcast to
   all four lanes, and two vpdpbusd give 16 int32 lanes, four per row. vpdpbusd multiplies
   unsigned by signed bytes, so the weights enter as their unsigned codes (nibble, or q8 + 128)
   and the offset comes back as -z * sum(a) in the accumulator's first lane of each row, with the
   activation block sums computed once per call. The four rows' fp16 scales become one vector
   with one conversion.

   Prefill (gemm): weights are decoded once per batch into a panel of 16 rows in which byte
   4k..4k+3 of row r sits at 64 * k + 4 * r -- so one 64-byte load feeds 16 int32 lanes, lane r =
   row r, and vpdpbusd against four activation bytes broadcast to all lanes adds the next four
   products of every row to one token's accumulator. An int32 lane is then the whole dot of a scale
   group (32 or 16 elements) for one (row, token); one conversion and one fma per group and token
   apply the scales, and the 16 results are 16 consecutive floats of the output. With 8 tokens per
   tile a group costs G/4 loads of weights, 2G broadcasts and 2G vpdpbusd of 64 products each.
   Every type reduces to

       w = s * (c - z) - o          for an unsigned code c in a group of G elements,

   (Q4_0: c = nibble, z = 8, s = d; Q8_0: c = q + 128, z = 128; Q4_K: c = nibble, s = d * sc,
   o = dmin * m; Q6_K: c = 6-bit code, z = 32, s = d * sc, G = 16), so one tile kernel serves all:
   sum over a group = s * da * (sum c * qa - z * sum qa) - o * da * sum qa.

   Results equal the scalar reference up to float summation order (integer group sums are exact);
   tests/test_simd.c bounds the difference. */

#if defined(RF__SIMD_X86)

/* g++ 12 warns "may be used uninitialized" inside its own 512-bit intrinsics (their
   _mm512_undefined_* placeholders, `__m512 __Y = __Y;`) once they are inlined here; the values are
   never read. Silenced for this file only. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

/* Four rows read side by side are four short streams (a 2048-wide Q4_0 row is 18 cache lines),
   too short for the hardware prefetcher to ramp up on: the memory stalled at every row switch
   (perf: the loads held ~80% of the samples, 28 t/s against 50 for the one-row dot). So each
   step prefetches the bytes it consumes (72 for Q4_0) RF__GEMV_PF groups of four rows ahead, one
   linear stream. Prefetches past the matrix's end are harmless (they do not fault). */
#define RF__GEMV_PF 2

static RF__AVX2 inline uint32_t rf__x86_u16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

static RF__VNNI inline int32_t rf__x86_u32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Four fp16 at p0..p3 -> four floats times f */
static RF__AVX2 inline __m128 rf__x86_h2f4(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3,
                                          float f) {
    __m128i h = _mm_cvtsi32_si128((int)rf__x86_u16(p0));
    h = _mm_insert_epi16(h, (int)rf__x86_u16(p1), 1);
    h = _mm_insert_epi16(h, (int)rf__x86_u16(p2), 2);
    h = _mm_insert_epi16(h, (int)rf__x86_u16(p3), 3);
    return _mm_mul_ps(_mm_cvtph_ps(h), _mm_set1_ps(f));
}

/* The sums of four groups of lanes: v[0..4), v[4..8), ... of 16 floats (lanes 4r..4r+3 of a
   stored zmm belong to row r). Through memory: g++ warns on the 512-bit extract intrinsics. */
static RF__VNNI inline __m128 rf__x86_sum4x4(const float *v) {
    __m128 a = _mm_loadu_ps(v), b = _mm_loadu_ps(v + 4), c = _mm_loadu_ps(v + 8), d = _mm_loadu_ps(v + 12);
    return _mm_hadd_ps(_mm_hadd_ps(a, b), _mm_hadd_ps(c, d));
}

/* q8_0 activation blocks: float scales and the sums of the codes (rf__gemv_side), for the AVX2 and
   the VNNI gemvs alike (once per matrix: AVX2's maddubs + madd serve) */
static RF__AVX2 void rf__gemv_side_q8_0_avx2(const void *act, int64_t n, rf__gemv_side *side) {
    const uint8_t *a = (const uint8_t *)act;
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    int64_t i;
    side->nb = n / 32 <= RF__GEMV_MAXB ? n / 32 : 0;
    for (i = 0; i < side->nb; i++, a += 34) {
        const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(a + 2))), ones16);
        side->da[i] = rf__x86_h2f(a);
        side->sum[i] = rf__x86_hsum_i32(s);
    }
}

static RF__VNNI void rf__gemv_q4_0_q8_0_vnni(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,
                                           const rf__gemv_side *side) {
    const uint8_t *ya = (const uint8_t *)a;
    const int64_t nb = n / 32;
    int64_t r = 0, i;
    if (side && side->nb == nb && nb > 0) {
        const __m512i m4 = _mm512_set1_epi8(15);
        const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *x0 = (const uint8_t *)w + (uint64_t)r * rb, *x1 = x0 + rb, *x2 = x1 + rb, *x3 = x2 + rb;
            const char *pf = (const char *)x0 + RF__GEMV_PF * 4 * rb; /* see RF__GEMV_PF */
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            for (i = 0; i < nb; i++, x0 += 18, x1 += 18, x2 += 18, x3 += 18, pf += 72) {
                const uint8_t *yb = ya + 34 * i;
                __m512i raw = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(x0 + 2)));
                __m512i iv;
                __m512 d;
                _mm_prefetch(pf, _MM_HINT_T0);
                _mm_prefetch(pf + 64, _MM_HINT_T0);
                raw = _mm512_inserti32x4(raw, _mm_loadu_si128((const __m128i *)(x1 + 2)), 1);
                raw = _mm512_inserti32x4(raw, _mm_loadu_si128((const __m128i *)(x2 + 2)), 2);
                raw = _mm512_inserti32x4(raw, _mm_loadu_si128((const __m128i *)(x3 + 2)), 3);
                iv = _mm512_dpbusd_epi32(_mm512_maskz_set1_epi32(0x1111, -8 * side->sum[i]), _mm512_and_si512(raw, m4),
                                         _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(yb + 2))));
                iv = _mm512_dpbusd_epi32(iv, _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4),
                                         _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(yb + 18))));
                d = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(rf__x86_h2f4(x0, x1, x2, x3, side->da[i])));
                if (i & 1)
                    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iv), d, acc1);
                else
                    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iv), d, acc0);
            }
            float t[16];
            _mm512_storeu_ps(t, _mm512_add_ps(acc0, acc1));
            _mm_storeu_ps(y + r, rf__x86_sum4x4(t));
        }
    }
    for (; r < nr; r++) y[r] = (float)rf__dot_q4_0_q8_0_vnni((const uint8_t *)w + (uint64_t)r * rb, a, n);
}

/* q5_0: as q4_0 with the fifth bit of each code from qh (bit j: element j) set through a byte
   mask -- lane r's low 16 bytes take bits 0..15 of row r's qh, the high nibbles bits 16..31 */
static RF__VNNI void rf__gemv_q5_0_q8_0_vnni(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,
                                           const rf__gemv_side *side) {
    const uint8_t *ya = (const uint8_t *)a;
    const int64_t nb = n / 32;
    int64_t r = 0, i;
    if (side && side->nb == nb && nb > 0) {
        const __m512i m4 = _mm512_set1_epi8(15), b16 = _mm512_set1_epi8(16);
        const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *x0 = (const uint8_t *)w + (uint64_t)r * rb, *x1 = x0 + rb, *x2 = x1 + rb, *x3 = x2 + rb;
            const char *pf = (const char *)x0 + RF__GEMV_PF * 4 * rb;
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            for (i = 0; i < nb; i++, x0 += 22, x1 += 22, x2 += 22, x3 += 22, pf += 88) {
                const uint8_t *yb = ya + 34 * i;
                const uint64_t h0 = (uint64_t)(uint32_t)rf__x86_u32(x0 + 2), h1 = (uint64_t)(uint32_t)rf__x86_u32(x1 + 2);
                const uint64_t h2 = (uint64_t)(uint32_t)rf__x86_u32(x2 + 2), h3 = (uint64_t)(uint32_t)rf__x86_u32(x3 + 2);
                const __mmask64 mlo = (__mmask64)((h0 & 0xffff) | (h1 & 0xffff) << 16 | (h2 & 0xffff) << 32 | (h3 & 0xffff) << 48);
                const __mmask64 mhi = (__mmask64)((h0 >> 16) | (h1 >> 16) << 16 | (h2 >> 16) << 32 | (h3 >> 16) << 48);
                __m512i raw = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(x0 + 6)));
                __m512i iv, lo, hi;
                __m512 d;
                _mm_prefetch(pf, _MM_HINT_T0);
                _mm_prefetch(pf + 64, _MM_HINT_T0);
                raw = _mm512_inserti32x4(raw, _mm_loadu_si128((const __m128i *)(x1 + 6)), 1);
                raw = _mm512_inserti32x4(raw, _mm_loadu_si128((const __m128i *)(x2 + 6)), 2);
                raw = _mm512_inserti32x4(raw, _mm_loadu_si128((const __m128i *)(x3 + 6)), 3);
                lo = _mm512_or_si512(_mm512_and_si512(raw, m4), _mm512_maskz_mov_epi8(mlo, b16));
                hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(raw, 4), m4), _mm512_maskz_mov_epi8(mhi, b16));
                iv = _mm512_dpbusd_epi32(_mm512_maskz_set1_epi32(0x1111, -16 * side->sum[i]), lo,
                                         _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(yb + 2))));
                iv = _mm512_dpbusd_epi32(iv, hi, _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(yb + 18))));
                d = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(rf__x86_h2f4(x0, x1, x2, x3, side->da[i])));
                if (i & 1)
                    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iv), d, acc1);
                else
                    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iv), d, acc0);
            }
            {
                float t[16];
                _mm512_storeu_ps(t, _mm512_add_ps(acc0, acc1));
                _mm_storeu_ps(y + r, rf__x86_sum4x4(t));
            }
        }
    }
    for (; r < nr; r++) y[r] = (float)rf__dot_q5_0_q8_0_vnni((const uint8_t *)w + (uint64_t)r * rb, a, n);
}

/* q8_0 rows: the codes + 128 are unsigned; one zmm holds a block of two rows */
static RF__VNNI void rf__gemv_q8_0_q8_0_vnni(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,
                                           const rf__gemv_side *side) {
    const uint8_t *ya = (const uint8_t *)a;
    const int64_t nb = n / 32;
    int64_t r = 0, i;
    if (side && side->nb == nb && nb > 0) {
        const __m512i bias = _mm512_set1_epi8((char)0x80);
        const __m512i ia = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        const __m512i ib = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *x0 = (const uint8_t *)w + (uint64_t)r * rb, *x1 = x0 + rb, *x2 = x1 + rb, *x3 = x2 + rb;
            const char *pf = (const char *)x0 + RF__GEMV_PF * 4 * rb;
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            for (i = 0; i < nb; i++, x0 += 34, x1 += 34, x2 += 34, x3 += 34, pf += 136) {
                const uint8_t *yb = ya + 34 * i;
                _mm_prefetch(pf, _MM_HINT_T0);
                _mm_prefetch(pf + 64, _MM_HINT_T0);
                _mm_prefetch(pf + 128, _MM_HINT_T0);
                __m512i ay = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(yb + 2)));
                __m512i w01 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(x0 + 2))),
                                                 _mm256_loadu_si256((const __m256i *)(x1 + 2)), 1);
                __m512i w23 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(x2 + 2))),
                                                 _mm256_loadu_si256((const __m256i *)(x3 + 2)), 1);
                __m512i c = _mm512_maskz_set1_epi32(0x0101, -128 * side->sum[i]);
                __m512 d4 = _mm512_castps128_ps512(rf__x86_h2f4(x0, x1, x2, x3, side->da[i]));
                __m512i i01 = _mm512_dpbusd_epi32(c, _mm512_xor_si512(w01, bias), ay);
                __m512i i23 = _mm512_dpbusd_epi32(c, _mm512_xor_si512(w23, bias), ay);
                acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i01), _mm512_permutexvar_ps(ia, d4), acc0);
                acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i23), _mm512_permutexvar_ps(ib, d4), acc1);
            }
            { /* lanes 0-7 row r, 8-15 row r+1 of acc0; rows r+2, r+3 in acc1: add the halves of each row */
                float t[32], u[16];
                int l;
                _mm512_storeu_ps(t, acc0);
                _mm512_storeu_ps(t + 16, acc1);
                for (l = 0; l < 4; l++) _mm_storeu_ps(u + 4 * l, _mm_add_ps(_mm_loadu_ps(t + 8 * l), _mm_loadu_ps(t + 8 * l + 4)));
                _mm_storeu_ps(y + r, rf__x86_sum4x4(u));
            }
        }
    }
    for (; r < nr; r++) y[r] = (float)rf__dot_q8_0_q8_0_vnni((const uint8_t *)w + (uint64_t)r * rb, a, n);
}

/* ---------------------------------------------------------------------------------------------
   The same four-row gemvs with AVX2 alone (maddubs + madd), for machines without AVX-512: one
   row at a time AVX2 decoded a 1B Q4_0 model at 55% of the measured bandwidth, Q4_K at 36%.
   (maddubs sums pairs to int16: |w| <= 128 against |a| <= 127 fits, the +128 bias of the VNNI
   Q8_0 kernel would not.) */

/* Four rows of a 32-block type, unpacked per row and block by UNPACK (x at the block -> 32 codes
   qx). With off > 0 the codes are unsigned, code - off being the value: maddubs takes them as
   they are and -off * (sum of the activation codes) goes to one lane, two sign operations per
   row and block fewer than the one-row dot's sign trick. With off 0 they are signed
   (simd_x86.c's unpack steps): |qx| against a * sign(qx). The four rows' scales are converted
   at once; prefetch as RF__GEMV_PF. The rows are spelled out: with an array of accumulators and
   a loop over the rows, 1B Q4_0 decoded at 57 t/s instead of 73-74. */
#define RF__X86_Q0_ROW(k, UNPACK, off)                                                                                   \
    do {                                                                                                                 \
        const uint8_t *x = x0 + (uint64_t)(k) * rb;                                                                      \
        __m256i qx, p;                                                                                                   \
        UNPACK;                                                                                                          \
        p = (off) ? _mm256_maddubs_epi16(qx, ay) : _mm256_maddubs_epi16(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(ay, qx)); \
        acc##k = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_madd_epi16(p, ones16), c)), _mm256_broadcast_ss(dt + (k)), \
                                 acc##k);                                                                                \
    } while (0)
#define RF__X86_Q0_GEMV(name, wbytes, UNPACK, off, dot1)                                                                 \
    static RF__AVX2 void name(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,                \
                              const rf__gemv_side *side) {                                                               \
        const uint8_t *ya = (const uint8_t *)a;                                                                          \
        const int64_t nb = n / 32;                                                                                       \
        int64_t r = 0, i;                                                                                                \
        if (side && side->nb == nb && nb > 0) {                                                                          \
            const __m256i ones16 = _mm256_set1_epi16(1);                                                                 \
            for (; r + 4 <= nr; r += 4) {                                                                                \
                const uint8_t *x0 = (const uint8_t *)w + (uint64_t)r * rb;                                               \
                const char *pf = (const char *)x0 + RF__GEMV_PF * 4 * rb;                                                \
                __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;                                \
                int k;                                                                                                   \
                for (i = 0; i < nb; i++, x0 += (wbytes), pf += 4 * (wbytes)) {                                          \
                    const __m256i ay = _mm256_loadu_si256((const __m256i *)(ya + 34 * i + 2));                           \
                    const __m256i c = _mm256_setr_epi32(-(off) * side->sum[i], 0, 0, 0, 0, 0, 0, 0);                      \
                    float dt[4];                                                                                         \
                    for (k = 0; k < 4 * (wbytes); k += 64) _mm_prefetch(pf + k, _MM_HINT_T0);                            \
                    _mm_storeu_ps(dt, rf__x86_h2f4(x0, x0 + rb, x0 + 2 * rb, x0 + 3 * rb, side->da[i]));                 \
                    RF__X86_Q0_ROW(0, UNPACK, off);                                                                      \
                    RF__X86_Q0_ROW(1, UNPACK, off);                                                                      \
                    RF__X86_Q0_ROW(2, UNPACK, off);                                                                      \
                    RF__X86_Q0_ROW(3, UNPACK, off);                                                                      \
                }                                                                                                        \
                y[r] = rf__x86_hsum(acc0), y[r + 1] = rf__x86_hsum(acc1), y[r + 2] = rf__x86_hsum(acc2), y[r + 3] = rf__x86_hsum(acc3); \
            }                                                                                                            \
        }                                                                                                                \
        for (; r < nr; r++) y[r] = (float)dot1((const uint8_t *)w + (uint64_t)r * rb, a, n);                             \
    }

/* unsigned codes: q4_0 the nibbles, q5_0 the nibble | 16 * its bit */
#define RF__X86_UNPACK_U4_0 qx = rf__x86_nibbles32(x + 2)
#define RF__X86_UNPACK_U5_0 qx = _mm256_or_si256(rf__x86_nibbles32(x + 6), _mm256_and_si256(rf__x86_bits32(x + 2), _mm256_set1_epi8(16)))

RF__X86_Q0_GEMV(rf__gemv_q4_0_q8_0_avx2, 18, RF__X86_UNPACK_U4_0, 8, rf__dot_q4_0_q8_0_avx2)
RF__X86_Q0_GEMV(rf__gemv_q5_0_q8_0_avx2, 22, RF__X86_UNPACK_U5_0, 16, rf__dot_q5_0_q8_0_avx2)
RF__X86_Q0_GEMV(rf__gemv_q8_0_q8_0_avx2, 34, RF__X86_UNPACK_Q8_0, 0, rf__dot_q8_0_q8_0_avx2)
RF__X86_Q0_GEMV(rf__gemv_iq4_nl_q8_0_avx2, 18, RF__X86_UNPACK_IQ4_NL, 0, rf__dot_iq4_nl_q8_0_avx2)

/* Q4_K, four rows: the activation's 8 sub-block loads and the sums of its 16-value runs are shared;
   per row the scales are decoded once (rf__x86_q4k_scales) and reach each sub-block by a word
   shuffle, and the mins meet the run sums in one madd. */
static RF__AVX2 void rf__gemv_q4_K_q8_K_avx2(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,
                                           const rf__gemv_side *side) {
    const uint8_t *ya = (const uint8_t *)a;
    const int64_t nb = n / 256;
    int64_t r = 0, i;
    (void)side;
    if (nb > 0) {
        const __m256i m4 = _mm256_set1_epi8(15), ones16 = _mm256_set1_epi16(1);
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *xr[4];
            const char *pf = (const char *)w + (uint64_t)r * rb + RF__GEMV_PF * 4 * rb;
            __m256 acc[4];
            float accm[4] = {0, 0, 0, 0};
            int k;
            for (k = 0; k < 4; k++) xr[k] = (const uint8_t *)w + (uint64_t)(r + k) * rb, acc[k] = _mm256_setzero_ps();
            for (i = 0; i < nb; i++, pf += 576) {
                const uint8_t *yb = ya + 292 * i;
                const float dy = rf__x86_f32(yb);
                const __m256i ps = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(yb + 260)), ones16); /* runs 2j + 2j+1 */
                const __m128i pairs = _mm_packs_epi32(_mm256_castsi256_si128(ps), _mm256_extracti128_si256(ps, 1));
                for (k = 0; k < 9; k++) _mm_prefetch(pf + 64 * k, _MM_HINT_T0);
                for (k = 0; k < 4; k++) {
                    const uint8_t *x = xr[k] + 144 * i;
                    const __m128i scm = rf__x86_q4k_scales(x + 4); /* bytes 0-7 scales, 8-15 mins */
                    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scm));
                    __m128i mins = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(scm, 8)), pairs);
                    __m256i sumi = _mm256_setzero_si256();
                    int j;
                    for (j = 0; j < 4; j++) {
                        const __m256i q4 = _mm256_loadu_si256((const __m256i *)(x + 16 + 32 * j));
                        const __m256i pl = _mm256_maddubs_epi16(_mm256_and_si256(q4, m4), _mm256_loadu_si256((const __m256i *)(yb + 4 + 64 * j)));
                        const __m256i ph = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q4, 4), m4),
                                                                _mm256_loadu_si256((const __m256i *)(yb + 36 + 64 * j)));
                        /* scale 2j, 2j + 1 in every word: bytes 4j..4j+1, 4j+2..4j+3 of each lane */
                        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(pl, _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0100 + 0x0404 * j)))));
                        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(ph, _mm256_shuffle_epi8(sc, _mm256_set1_epi16((short)(0x0302 + 0x0404 * j)))));
                    }
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dy * rf__x86_h2f(x)), _mm256_cvtepi32_ps(sumi), acc[k]);
                    mins = _mm_add_epi32(mins, _mm_shuffle_epi32(mins, 0x4e));
                    mins = _mm_add_epi32(mins, _mm_shuffle_epi32(mins, 0xb1));
                    accm[k] += dy * rf__x86_h2f(x + 2) * (float)_mm_cvtsi128_si32(mins);
                }
            }
            for (k = 0; k < 4; k++) y[r + k] = rf__x86_hsum(acc[k]) - accm[k];
        }
    }
    for (; r < nr; r++) y[r] = (float)rf__dot_q4_K_q8_K_avx2((const uint8_t *)w + (uint64_t)r * rb, a, n);
}

/* Q6_K, four rows: codes q - 32 as q against the activation, less 32 * (scales . run sums) -- one
   madd per row and super-block instead of a second maddubs per sub-block; sub-block pair (s,
   s + 1)'s scales reach the two 128-bit halves by a dword broadcast and a byte shuffle. */
static RF__AVX2 void rf__gemv_q6_K_q8_K_avx2(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,
                                           const rf__gemv_side *side) {
    const uint8_t *ya = (const uint8_t *)a;
    const int64_t nb = n / 256;
    int64_t r = 0, i;
    (void)side;
    if (nb > 0) {
        const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
        const __m256i wsel = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *xr[4];
            const char *pf = (const char *)w + (uint64_t)r * rb + RF__GEMV_PF * 4 * rb;
            __m256 acc[4];
            int k;
            for (k = 0; k < 4; k++) xr[k] = (const uint8_t *)w + (uint64_t)(r + k) * rb, acc[k] = _mm256_setzero_ps();
            for (i = 0; i < nb; i++, pf += 840) {
                const uint8_t *yb = ya + 292 * i;
                const float dy = rf__x86_f32(yb);
                const __m256i bs = _mm256_loadu_si256((const __m256i *)(yb + 260));
                for (k = 0; k < 14; k++) _mm_prefetch(pf + 64 * k, _MM_HINT_T0);
                for (k = 0; k < 4; k++) {
                    const uint8_t *x = xr[k] + 210 * i;
                    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 192)));
                    __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sc, bs), 5));
                    int h, j;
                    for (h = 0; h < 2; h++) {
                        const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x + 64 * h)), l1 = _mm256_loadu_si256((const __m256i *)(x + 64 * h + 32));
                        const __m256i qh = _mm256_loadu_si256((const __m256i *)(x + 128 + 32 * h));
                        for (j = 0; j < 4; j++) { /* values [32j, 32j + 32) of this half: nibble j / 2 of ql, bits 2j of qh */
                            const __m256i lb = j & 1 ? l1 : l0;
                            const __m256i lo = _mm256_and_si256(j < 2 ? lb : _mm256_srli_epi16(lb, 4), m4);
                            const __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), m2), 4));
                            const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(yb + 4 + 128 * h + 32 * j)));
                            const __m256i scv = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc, _mm256_set1_epi32(4 * h + j)), wsel);
                            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scv));
                        }
                    }
                    acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dy * rf__x86_h2f(x + 208)), _mm256_cvtepi32_ps(sumi), acc[k]);
                }
            }
            for (k = 0; k < 4; k++) y[r + k] = rf__x86_hsum(acc[k]);
        }
    }
    for (; r < nr; r++) y[r] = (float)rf__dot_q6_K_q8_K_avx2((const uint8_t *)w + (uint64_t)r * rb, a, n);
}

/* ---------------------------------------------------------------------------------------------
   Packed GEMM. A pack function turns 8 weight rows of n elements into the panel layout (codes:
   8 * n bytes; s and o: 8 floats per group, o only for types with minimums). */

/* e[r] = 32 bytes of row r -> out[64 * k + 4 * r + b] = byte 4k + b of row r (an 8 x 8 transpose
   of 32-bit words; 64: the quads of a 16-row panel, rows 8-15 at out + 32) */
static RF__VNNI inline void rf__x86_store_t8(const __m256i e[8], uint8_t *out) {
    __m256i t0 = _mm256_unpacklo_epi32(e[0], e[1]), t1 = _mm256_unpackhi_epi32(e[0], e[1]);
    __m256i t2 = _mm256_unpacklo_epi32(e[2], e[3]), t3 = _mm256_unpackhi_epi32(e[2], e[3]);
    __m256i t4 = _mm256_unpacklo_epi32(e[4], e[5]), t5 = _mm256_unpackhi_epi32(e[4], e[5]);
    __m256i t6 = _mm256_unpacklo_epi32(e[6], e[7]), t7 = _mm256_unpackhi_epi32(e[6], e[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    /* u0: words 0 (rows 0-3) and 4 (rows 0-3); u4: the same for rows 4-7 */
    _mm256_storeu_si256((__m256i *)(out + 0), _mm256_permute2x128_si256(u0, u4, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 64), _mm256_permute2x128_si256(u1, u5, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 128), _mm256_permute2x128_si256(u2, u6, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 192), _mm256_permute2x128_si256(u3, u7, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 256), _mm256_permute2x128_si256(u0, u4, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 320), _mm256_permute2x128_si256(u1, u5, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 384), _mm256_permute2x128_si256(u2, u6, 0x31));
    _mm256_storeu_si256((__m256i *)(out + 448), _mm256_permute2x128_si256(u3, u7, 0x31));
}

/* Packing reads 16 rows side by side: 16 short streams the hardware prefetcher follows badly
   (perf: ~70% of the pack's samples on the weight loads). Each step therefore prefetches its
   share of the next panel (the 16 rows after these), which is one contiguous range; past the
   matrix's end the hints are harmless. */
static RF__VNNI inline void rf__x86_pf_share(const uint8_t *next, uint64_t bytes, int64_t i, int64_t n) {
    uint64_t a = bytes * (uint64_t)i / (uint64_t)n, b = bytes * (uint64_t)(i + 1) / (uint64_t)n;
    for (a &= ~(uint64_t)63; a < b; a += 64) _mm_prefetch((const char *)next + a, _MM_HINT_T0);
}

static RF__VNNI void rf__pack_q4_0_vnni(const uint8_t *w, uint64_t rb, int64_t n, uint8_t *codes, float *s, float *o) {
    int64_t i;
    int r, h;
    (void)o;
    for (i = 0; i < n / 32; i++, codes += 512, s += 16)
        for (h = 0; h < 2; h++) {
            __m256i e[8];
            if (h == 0) rf__x86_pf_share(w + 16 * rb, 16 * rb, i, n / 32);
            for (r = 0; r < 8; r++) {
                const uint8_t *x = w + (uint64_t)(8 * h + r) * rb + 18 * i;
                e[r] = rf__x86_nibbles32(x + 2);
                s[8 * h + r] = rf__x86_h2f(x);
            }
            rf__x86_store_t8(e, codes + 32 * h);
        }
}

/* q5_0: code = nibble | 16 * (bit j of qh), weight d * (code - 16) */
static RF__VNNI void rf__pack_q5_0_vnni(const uint8_t *w, uint64_t rb, int64_t n, uint8_t *codes, float *s, float *o) {
    int64_t i;
    int r, h;
    (void)o;
    for (i = 0; i < n / 32; i++, codes += 512, s += 16)
        for (h = 0; h < 2; h++) {
            __m256i e[8];
            if (h == 0) rf__x86_pf_share(w + 16 * rb, 16 * rb, i, n / 32);
            for (r = 0; r < 8; r++) {
                const uint8_t *x = w + (uint64_t)(8 * h + r) * rb + 22 * i;
                e[r] = _mm256_or_si256(rf__x86_nibbles32(x + 6), _mm256_and_si256(rf__x86_bits32(x + 2), _mm256_set1_epi8(16)));
                s[8 * h + r] = rf__x86_h2f(x);
            }
            rf__x86_store_t8(e, codes + 32 * h);
        }
}

static RF__VNNI void rf__pack_q8_0_vnni(const uint8_t *w, uint64_t rb, int64_t n, uint8_t *codes, float *s, float *o) {
    int64_t i;
    int r, h;
    (void)o;
    for (i = 0; i < n / 32; i++, codes += 512, s += 16)
        for (h = 0; h < 2; h++) {
            __m256i e[8];
            if (h == 0) rf__x86_pf_share(w + 16 * rb, 16 * rb, i, n / 32);
            for (r = 0; r < 8; r++) {
                const uint8_t *x = w + (uint64_t)(8 * h + r) * rb + 34 * i;
                e[r] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(x + 2)), _mm256_set1_epi8((char)0x80));
                s[8 * h + r] = rf__x86_h2f(x);
            }
            rf__x86_store_t8(e, codes + 32 * h);
        }
}

/* q4_K: sub-block j of 32 is the low (j even) or high (j odd) nibbles of qs[32 (j / 2) ...]; each
   row's scales and mins decoded once per super-block (rf__x86_q4k_scales: bytes 0-7 scales, 8-15
   mins) */
static RF__VNNI void rf__pack_q4_K_vnni(const uint8_t *w, uint64_t rb, int64_t n, uint8_t *codes, float *s, float *o) {
    int64_t i;
    int r, j, h;
    for (i = 0; i < n / 256; i++) {
        uint8_t scm[16][16];
        float d[16], dm[16];
        for (r = 0; r < 16; r++) {
            const uint8_t *x = w + (uint64_t)r * rb + 144 * i;
            _mm_storeu_si128((__m128i *)scm[r], rf__x86_q4k_scales(x + 4));
            d[r] = rf__x86_h2f(x);
            dm[r] = rf__x86_h2f(x + 2);
        }
        for (j = 0; j < 8; j++, codes += 512, s += 16, o += 16) {
            rf__x86_pf_share(w + 16 * rb, 16 * rb, 8 * i + j, n / 32);
            for (h = 0; h < 2; h++) {
                __m256i e[8];
                for (r = 0; r < 8; r++) {
                    const uint8_t *x = w + (uint64_t)(8 * h + r) * rb + 144 * i;
                    __m256i q = _mm256_loadu_si256((const __m256i *)(x + 16 + 32 * (j / 2)));
                    if (j & 1) q = _mm256_srli_epi16(q, 4);
                    e[r] = _mm256_and_si256(q, _mm256_set1_epi8(15));
                }
                rf__x86_store_t8(e, codes + 32 * h);
            }
            for (r = 0; r < 16; r++) {
                s[r] = d[r] * (float)scm[r][j];
                o[r] = dm[r] * (float)scm[r][8 + j];
            }
        }
    }
}

/* q6_K: elements 128h + 32k + (0..31) (h < 2, k < 4) are the low or high nibbles of
   ql[64h + 32 (k & 1) ...] with bits 2k..2k+1 of qh[32h ...] above them; groups of 16 elements,
   scale sc[group]. One 32-element chunk is two groups: quads 0-3 group 2k, 4-7 group 2k+1. */
static RF__VNNI void rf__pack_q6_K_vnni(const uint8_t *w, uint64_t rb, int64_t n, uint8_t *codes, float *s, float *o) {
    int64_t i;
    int r, h, k, hr;
    (void)o;
    for (i = 0; i < n / 256; i++)
        for (h = 0; h < 2; h++)
            for (k = 0; k < 4; k++, codes += 512, s += 32) {
                rf__x86_pf_share(w + 16 * rb, 16 * rb, 8 * i + 4 * h + k, n / 32);
                for (hr = 0; hr < 2; hr++) {
                    __m256i e[8];
                    for (r = 0; r < 8; r++) {
                        const uint8_t *x = w + (uint64_t)(8 * hr + r) * rb + 210 * i;
                        const int8_t *sc = (const int8_t *)(x + 192);
                        const float d = rf__x86_h2f(x + 208);
                        __m256i l = _mm256_loadu_si256((const __m256i *)(x + 64 * h + 32 * (k & 1)));
                        __m256i qh = _mm256_loadu_si256((const __m256i *)(x + 128 + 32 * h));
                        __m256i lo = _mm256_and_si256(k < 2 ? l : _mm256_srli_epi16(l, 4), _mm256_set1_epi8(15));
                        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), _mm256_set1_epi8(3));
                        e[r] = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                        s[8 * hr + r] = d * (float)sc[8 * h + 2 * k];
                        s[16 + 8 * hr + r] = d * (float)sc[8 * h + 2 * k + 1];
                    }
                    rf__x86_store_t8(e, codes + 32 * hr);
                }
            }
}

/* One token's per-group activation terms (rf__gemm_side) from its q8_0 / q8_K row. */
static RF__VNNI void rf__gemm_side_q8_0_vnni(const uint8_t *a, int64_t n, int group, int z, rf__gemm_side *out) {
    int64_t i;
    (void)group; /* 32: one q8_0 block */
    for (i = 0; i < n / 32; i++, a += 34) {
        __m256i sv = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), _mm256_loadu_si256((const __m256i *)(a + 2)));
        int sum = rf__x86_hsum_i32(sv);
        out[i].da = rf__x86_h2f(a);
        out[i].zs = -z * sum;
        out[i].das = out[i].da * (float)sum;
    }
}

static RF__VNNI void rf__gemm_side_q8_K_vnni(const uint8_t *a, int64_t n, int group, int z, rf__gemm_side *out) {
    int64_t i;
    int j, per = 256 / group, bs = group / 16; /* bsums per group */
    for (i = 0; i < n / 256; i++, a += 292) {
        const float d = rf__x86_f32(a);
        for (j = 0; j < per; j++, out++) {
            int sum = 0, b;
            for (b = 0; b < bs; b++) sum += rf__x86_bsum(a, j * bs + b);
            out->da = d;
            out->zs = -z * sum;
            out->das = d * (float)sum;
        }
    }
}

/* The tile: 16 rows (a panel) x NT tokens, for groups of G = 32 or 16 elements (G / 4 quads, the
   quad loop unrolled: a rolled one made the compiler copy every accumulator each step). at[t]:
   token t's activation row; goff[g]: where group g's codes start in a row (the same for every
   token); side: token t's terms at side[t * ss + g]. */
#define RF__MM_DECL(t)                                                                              \
    __m512i i##t;                                                                                   \
    __m512 f##t = _mm512_setzero_ps();                                                              \
    const uint8_t *a##t = at[t];
#define RF__MM_INIT(t) i##t = _mm512_set1_epi32(side[(t) * ss + g].zs);
#define RF__MM_DP(t) i##t = _mm512_dpbusd_epi32(i##t, wv, _mm512_set1_epi32(rf__x86_u32(a##t + off + 4 * q)));
#define RF__MM_SCALE(t) \
    f##t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##t), _mm512_mul_ps(sv, _mm512_set1_ps(side[(t) * ss + g].da)), f##t);
#define RF__MM_MIN(t) f##t = _mm512_fnmadd_ps(ov, _mm512_set1_ps(side[(t) * ss + g].das), f##t);
#define RF__MM_STORE(t) _mm512_storeu_ps(y + (t) * ldy, f##t);
#define RF__MM_EACH1(M) M(0)
#define RF__MM_EACH4(M) M(0) M(1) M(2) M(3)
#define RF__MM_EACH8(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#define RF__MM_QUAD(EACH, qq)                                                                       \
    {                                                                                               \
        const int q = (qq);                                                                         \
        const __m512i wv = _mm512_loadu_si512((const void *)(codes + 64 * q));                      \
        EACH(RF__MM_DP)                                                                             \
    }
#define RF__MM_QUADS16(EACH) RF__MM_QUAD(EACH, 0) RF__MM_QUAD(EACH, 1) RF__MM_QUAD(EACH, 2) RF__MM_QUAD(EACH, 3)
#define RF__MM_QUADS32(EACH) \
    RF__MM_QUADS16(EACH) RF__MM_QUAD(EACH, 4) RF__MM_QUAD(EACH, 5) RF__MM_QUAD(EACH, 6) RF__MM_QUAD(EACH, 7)

#define RF__MM_TILE(name, EACH, QUADS, G)                                                           \
    static RF__VNNI void name(const uint8_t *codes, const float *s, const float *o, int64_t ng,     \
                              const uint8_t *const *at, const int32_t *goff, const rf__gemm_side *side, int64_t ss, \
                              float *y, int64_t ldy) {                                              \
        int64_t g;                                                                                  \
        EACH(RF__MM_DECL)                                                                           \
        for (g = 0; g < ng; g++, codes += 16 * (G)) {                                               \
            const int32_t off = goff[g];                                                            \
            const __m512 sv = _mm512_loadu_ps(s + 16 * g);                                          \
            EACH(RF__MM_INIT)                                                                       \
            QUADS(EACH)                                                                             \
            EACH(RF__MM_SCALE)                                                                      \
            if (o) {                                                                                \
                const __m512 ov = _mm512_loadu_ps(o + 16 * g);                                      \
                EACH(RF__MM_MIN)                                                                    \
            }                                                                                       \
        }                                                                                           \
        EACH(RF__MM_STORE)                                                                          \
    }

RF__MM_TILE(rf__gemm_tile8_g32_vnni, RF__MM_EACH8, RF__MM_QUADS32, 32)
RF__MM_TILE(rf__gemm_tile4_g32_vnni, RF__MM_EACH4, RF__MM_QUADS32, 32)
RF__MM_TILE(rf__gemm_tile1_g32_vnni, RF__MM_EACH1, RF__MM_QUADS32, 32)
RF__MM_TILE(rf__gemm_tile8_g16_vnni, RF__MM_EACH8, RF__MM_QUADS16, 16)
RF__MM_TILE(rf__gemm_tile4_g16_vnni, RF__MM_EACH4, RF__MM_QUADS16, 16)
RF__MM_TILE(rf__gemm_tile1_g16_vnni, RF__MM_EACH1, RF__MM_QUADS16, 16)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif /* RF__SIMD_X86 */
