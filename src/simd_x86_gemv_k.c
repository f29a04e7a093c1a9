/* simd_x86_gemv_k: AVX-512 VNNI decode gemv for the K-quants a Q4_K_M model is made of (Q4_K,
   and Q6_K for the output and some ffn_down / attn_v), four rows per pass over the activation as
   simd_x86_mm.c does for Q4_0 / Q5_0 / Q8_0.

   Why: the one-row VNNI dots (simd_x86.c) spend ~55 instructions on a 144-byte Q4_K block --
   the activation loads, the 6-bit scale decode, two scalar fp16 conversions and a horizontal
   reduction are all per row -- which caps one core at ~28 GB/s, below what the memory delivers.
   Here the activation of a 256-element block is loaded once for four rows, the scales of four
   rows are decoded in one zmm, and the four rows' int32 sums are folded into one register (lanes
   4r..4r+3: row r) so one conversion and one fma per block serve all four.

   The products: weights enter vpdpbusd as unsigned codes (Q4_K: nibble; Q6_K: the 6-bit code
   c, weight c - 32) against the signed q8_K bytes. An int32 lane then holds four products of one
   sub-block, at most 4 * 63 * 128 = 32256 in magnitude: it fits an int16, so vpdpwssd against a
   dword whose low word is the sub-block's scale and whose high word is 0 multiplies the lane by
   the scale exactly (the lane's high word, its sign extension, meets the 0). Sums are exact
   integers per block; only the float accumulation across blocks differs from the reference
   (tests/test_simd.c, 1e-5 of sum |w a|).

   Q4_K block (144 bytes): d, dmin (fp16), 12 bytes of 6-bit scales / mins for 8 sub-blocks of
   32, qs[128]: qs[32k..32k+32) low nibbles are sub-block 2k, high nibbles 2k + 1. q8_K block (292
   bytes): float d, qs[256], int16 bsums[16] (sums of 16 codes).
   Q6_K block (210 bytes): ql[128], qh[64], int8 scales[16] (sub-blocks of 16), d (fp16). In half
   h (128 elements), element 32k + l takes the nibble of ql[64h + l + 32 (k & 1)] (low for k < 2,
   high otherwise) and bits 2k, 2k+1 of qh[32h + l]; its scale is scales[e / 16]. */

#if defined(RF__SIMD_X86)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

/* Four zmm of 16 int32 lanes (one per row) -> one zmm whose lanes 4r..4r+3 sum row r's 16 */
static RF__VNNI inline __m512i rf__x86_fold4(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    const __m512i s01 = _mm512_add_epi32(_mm512_shuffle_i64x2(a0, a1, _MM_SHUFFLE(1, 0, 1, 0)),
                                         _mm512_shuffle_i64x2(a0, a1, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512i s23 = _mm512_add_epi32(_mm512_shuffle_i64x2(a2, a3, _MM_SHUFFLE(1, 0, 1, 0)),
                                         _mm512_shuffle_i64x2(a2, a3, _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm512_add_epi32(_mm512_shuffle_i64x2(s01, s23, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i64x2(s01, s23, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* 16 bytes at each of p0..p3 -> the four 128-bit lanes of one zmm */
static RF__VNNI inline __m512i rf__x86_load4x16(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p0));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p1), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p2), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)p3), 3);
}

/* Bytes b0 (lanes 0-7) and b1 (lanes 8-15) of a 128-bit lane as zero-extended dwords: a
   vpshufb control (0x80 zeroes a byte) */
#define RF__X86_BB(b0, b1)                                                                                         \
    _mm512_setr_epi32((b0) | ~0xff, (b0) | ~0xff, (b0) | ~0xff, (b0) | ~0xff, (b0) | ~0xff, (b0) | ~0xff, (b0) | ~0xff, \
                      (b0) | ~0xff, (b1) | ~0xff, (b1) | ~0xff, (b1) | ~0xff, (b1) | ~0xff, (b1) | ~0xff, (b1) | ~0xff, \
                      (b1) | ~0xff, (b1) | ~0xff)

/* One Q4_K row of the four: its two 64-byte halves of qs against the activation quarters a0..a3
   (a0: elements 0-31 and 64-95, the low nibbles of qs[0..64); a1: 32-63 and 96-127, the high
   ones; a2, a3 the same for 128-255), each product lane times its sub-block's scale. sc: the
   decoded scales of the four rows, row r's bytes 0..7 in lane r. */
static RF__VNNI inline __m512i rf__x86_q4k_row(const uint8_t *qs, __m512i sc, int r, __m512i a0, __m512i a1, __m512i a2,
                                               __m512i a3) {
    const __m512i m4 = _mm512_set1_epi8(15), z = _mm512_setzero_si512();
    const __m512i q0 = _mm512_loadu_si512((const void *)qs), q1 = _mm512_loadu_si512((const void *)(qs + 64));
    const __m512i s = _mm512_permutexvar_epi32( /* row r's lane in every lane */
        _mm512_add_epi32(_mm512_set1_epi32(4 * r), _mm512_set4_epi32(3, 2, 1, 0)), sc);
    __m512i acc;
    acc = _mm512_dpwssd_epi32(z, _mm512_dpbusd_epi32(z, _mm512_and_si512(q0, m4), a0), _mm512_shuffle_epi8(s, RF__X86_BB(0, 2)));
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4), a1),
                              _mm512_shuffle_epi8(s, RF__X86_BB(1, 3)));
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(z, _mm512_and_si512(q1, m4), a2), _mm512_shuffle_epi8(s, RF__X86_BB(4, 6)));
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(z, _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4), a3),
                              _mm512_shuffle_epi8(s, RF__X86_BB(5, 7)));
    return acc;
}

static RF__VNNI void rf__gemv_q4_K_q8_K_vnni(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,
                                           const rf__gemv_side *side) {
    const uint8_t *ya = (const uint8_t *)a;
    const int64_t nb = n / 256;
    int64_t r = 0, i;
    (void)side; /* q8_K carries its own scale and sums */
    if (nb > 0) {
        /* the scale decode of rf__x86_q4k_scales on dwords 1..3 of each lane (dword 0: d, dmin):
           out = [u0 & 3f, (u2 & 0f) | (u0 >> 6 & 3) << 4, u1 & 3f, (u2 >> 4 & 0f) | (u1 >> 6 & 3) << 4] */
        const __m512i lomask = _mm512_set4_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f);
        const __m512i himask = _mm512_set4_epi32(0x30303030, 0, 0x30303030, 0);
        const __m512i rshift = _mm512_set4_epi32(4, 0, 0, 0);
        /* mins (bytes 8..15) as words, for vpmaddwd against the 8 sub-block sums */
        const __m512i minw = _mm512_set4_epi32((int)0x800f800e, (int)0x800d800c, (int)0x800b800a, (int)0x80098008);
        const __m512i didx = _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6);
        const __m512i midx = _mm512_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7);
        const __m512i dw0 = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *x0 = (const uint8_t *)w + (uint64_t)r * rb, *x1 = x0 + rb, *x2 = x1 + rb, *x3 = x2 + rb;
            const char *pf = (const char *)x0 + RF__GEMV_PF * 4 * rb; /* see RF__GEMV_PF */
            __m512 accd = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
            for (i = 0; i < nb; i++, x0 += 144, x1 += 144, x2 += 144, x3 += 144, pf += 576) {
                const uint8_t *yb = ya + 292 * i;
                const __m512i y01 = _mm512_loadu_si512((const void *)(yb + 4)), y23 = _mm512_loadu_si512((const void *)(yb + 68));
                const __m512i y45 = _mm512_loadu_si512((const void *)(yb + 132)), y67 = _mm512_loadu_si512((const void *)(yb + 196));
                const __m512i hd = rf__x86_load4x16(x0, x1, x2, x3);
                const __m512i sc = _mm512_ternarylogic_epi32(
                    _mm512_and_si512(_mm512_srlv_epi32(_mm512_shuffle_epi32(hd, (_MM_PERM_ENUM)_MM_SHUFFLE(3, 2, 3, 1)), rshift), lomask),
                    _mm512_srli_epi32(_mm512_shuffle_epi32(hd, (_MM_PERM_ENUM)_MM_SHUFFLE(2, 2, 1, 1)), 2), himask, 0xf8);
                /* bsums pairs: the 8 sub-block sums of the activation, as words in every lane */
                const __m256i bs8 = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(yb + 260)), _mm256_set1_epi16(1));
                const __m512i bsw = _mm512_broadcast_i32x4(_mm_packs_epi32(_mm256_castsi256_si128(bs8), _mm256_extracti128_si256(bs8, 1)));
                const __m512i im = _mm512_madd_epi16(_mm512_shuffle_epi8(sc, minw), bsw);
                const __m256 dd = _mm256_mul_ps(_mm256_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi32(dw0, hd))),
                                                _mm256_set1_ps(rf__x86_f32(yb)));
                const __m512 d16 = _mm512_castps256_ps512(dd);
                __m512i a0, a1, a2, a3, isum;
                int k;
                for (k = 0; k < 9; k++) _mm_prefetch(pf + 64 * k, _MM_HINT_T0);
                a0 = _mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(1, 0, 1, 0));
                a1 = _mm512_shuffle_i64x2(y01, y23, _MM_SHUFFLE(3, 2, 3, 2));
                a2 = _mm512_shuffle_i64x2(y45, y67, _MM_SHUFFLE(1, 0, 1, 0));
                a3 = _mm512_shuffle_i64x2(y45, y67, _MM_SHUFFLE(3, 2, 3, 2));
                isum = rf__x86_fold4(rf__x86_q4k_row(x0 + 16, sc, 0, a0, a1, a2, a3), rf__x86_q4k_row(x1 + 16, sc, 1, a0, a1, a2, a3),
                                     rf__x86_q4k_row(x2 + 16, sc, 2, a0, a1, a2, a3), rf__x86_q4k_row(x3 + 16, sc, 3, a0, a1, a2, a3));
                accd = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_permutexvar_ps(didx, d16), accd);
                accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(im), _mm512_permutexvar_ps(midx, d16), accm);
            }
            {
                float t[16];
                _mm512_storeu_ps(t, _mm512_sub_ps(accd, accm));
                _mm_storeu_ps(y + r, rf__x86_sum4x4(t));
            }
        }
    }
    for (; r < nr; r++) y[r] = (float)rf__dot_q4_K_q8_K_vnni((const uint8_t *)w + (uint64_t)r * rb, a, n);
}

/* One Q6_K row of the four: codes of the two halves against the activation's four 64-byte
   quarters, each lane times its scale (zs: the 16 scales as words, zero-extended), plus the
   offset -32 * sum_j sc_j bsum_j (nbs: the negated bsums as words in the low 256 bits). */
static RF__VNNI inline __m512i rf__x86_q6k_row(const uint8_t *x, __m512i y0, __m512i y1, __m512i y2, __m512i y3, __m512i nbs) {
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30), z = _mm512_setzero_si512();
    /* qh bits 0-1 (chunk 0, low 256 bits) and 2-3 (chunk 1) up to bits 4-5; bits 4-5 (chunk 2) and 6-7 (chunk 3) */
    const __m512i sh01 = _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2), sh23 = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
    /* words 2g..2g+1 of a lane into all four dwords of lane g (scales 4p + g), high word zero */
    const __m512i w0 = _mm512_setr_epi32(0x80800100, 0x80800100, 0x80800100, 0x80800100, 0x80800302, 0x80800302, 0x80800302,
                                         0x80800302, 0x80800504, 0x80800504, 0x80800504, 0x80800504, 0x80800706, 0x80800706,
                                         0x80800706, 0x80800706);
    const __m512i w1 = _mm512_add_epi8(w0, _mm512_set1_epi32(0x00000808));
    const __m512i l0 = _mm512_loadu_si512((const void *)x), l1 = _mm512_loadu_si512((const void *)(x + 64));
    const __m512i qh = _mm512_loadu_si512((const void *)(x + 128));
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 192)));
    const __m512i z0 = _mm512_broadcast_i32x4(_mm256_castsi256_si128(s16)), z1 = _mm512_broadcast_i32x4(_mm256_extracti128_si256(s16, 1));
    const __m512i h0 = _mm512_shuffle_i64x2(qh, qh, _MM_SHUFFLE(1, 0, 1, 0)), h1 = _mm512_shuffle_i64x2(qh, qh, _MM_SHUFFLE(3, 2, 3, 2));
    __m512i acc, c;
    acc = _mm512_dpwssd_epi32(z, _mm512_castsi256_si512(_mm256_slli_epi16(s16, 5)), nbs);
    c = _mm512_ternarylogic_epi32(_mm512_and_si512(l0, m4), _mm512_sllv_epi64(h0, sh01), m30, 0xf8);
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(z, c, y0), _mm512_shuffle_epi8(z0, w0));
    c = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4), _mm512_srlv_epi64(h0, sh23), m30, 0xf8);
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(z, c, y1), _mm512_shuffle_epi8(z0, w1));
    c = _mm512_ternarylogic_epi32(_mm512_and_si512(l1, m4), _mm512_sllv_epi64(h1, sh01), m30, 0xf8);
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(z, c, y2), _mm512_shuffle_epi8(z1, w0));
    c = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4), _mm512_srlv_epi64(h1, sh23), m30, 0xf8);
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(z, c, y3), _mm512_shuffle_epi8(z1, w1));
    return acc;
}

static RF__VNNI void rf__gemv_q6_K_q8_K_vnni(const void *w, uint64_t rb, int64_t nr, const void *a, int64_t n, float *y,
                                           const rf__gemv_side *side) {
    const uint8_t *ya = (const uint8_t *)a;
    const int64_t nb = n / 256;
    int64_t r = 0, i;
    (void)side;
    if (nb > 0) {
        const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        for (; r + 4 <= nr; r += 4) {
            const uint8_t *x0 = (const uint8_t *)w + (uint64_t)r * rb, *x1 = x0 + rb, *x2 = x1 + rb, *x3 = x2 + rb;
            const char *pf = (const char *)x0 + RF__GEMV_PF * 4 * rb;
            __m512 acc = _mm512_setzero_ps();
            for (i = 0; i < nb; i++, x0 += 210, x1 += 210, x2 += 210, x3 += 210, pf += 840) {
                const uint8_t *yb = ya + 292 * i;
                const __m512i y0 = _mm512_loadu_si512((const void *)(yb + 4)), y1 = _mm512_loadu_si512((const void *)(yb + 68));
                const __m512i y2 = _mm512_loadu_si512((const void *)(yb + 132)), y3 = _mm512_loadu_si512((const void *)(yb + 196));
                const __m512i nbs = _mm512_inserti64x4(_mm512_setzero_si512(),
                                                       _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_loadu_si256((const __m256i *)(yb + 260))), 0);
                __m512i isum;
                __m512 d;
                int k;
                for (k = 0; k < 13; k++) _mm_prefetch(pf + 64 * k, _MM_HINT_T0);
                isum = rf__x86_fold4(rf__x86_q6k_row(x0, y0, y1, y2, y3, nbs), rf__x86_q6k_row(x1, y0, y1, y2, y3, nbs),
                                     rf__x86_q6k_row(x2, y0, y1, y2, y3, nbs), rf__x86_q6k_row(x3, y0, y1, y2, y3, nbs));
                d = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(rf__x86_h2f4(x0 + 208, x1 + 208, x2 + 208, x3 + 208, rf__x86_f32(yb))));
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), d, acc);
            }
            {
                float t[16];
                _mm512_storeu_ps(t, acc);
                _mm_storeu_ps(y + r, rf__x86_sum4x4(t));
            }
        }
    }
    for (; r < nr; r++) y[r] = (float)rf__dot_q6_K_q8_K_vnni((const uint8_t *)w + (uint64_t)r * rb, a, n);
}

#undef RF__X86_BB

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif /* RF__SIMD_X86 */
