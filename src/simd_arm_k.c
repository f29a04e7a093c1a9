/* simd_arm_k: NEON / dotprod dot products of the K-quants (Q2_K Q3_K Q4_K Q5_K Q6_K) and IQ4_XS
   against q8_K activations; simd_arm.c's table takes them through rf__kernels_neon_k. Block layouts: quant_k.c.

   Each 16 weight codes become one int8x16_t in element order, so a 16-lane product with the
   activation is one dot16 (plain NEON: widening multiplies; dotprod: sdot) and every 16 lanes
   share one sub-block scale, applied to the four int32 partial sums with one multiply-add. The
   integer sums are exact: the largest, Q6_K's, is bounded by 2^27 (quant_k.c). The Q2_K / Q4_K /
   Q5_K minimum term uses q8_K's bsums, as the scalar reference does. */

#if defined(RF__SIMD_ARM)

static float rf__arm_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* sum over the 8 sub-blocks of 32 of m[j] * (sum of the activation codes): q8_K's bsums hold the
   sums of 16, at byte 260 of the block */
static int rf__arm_q8_K_min_sum(const uint8_t *y, const int m[8]) {
    int16_t bs[16];
    int j, s = 0;
    memcpy(bs, y + 260, sizeof bs);
    for (j = 0; j < 8; j++) s += m[j] * (bs[2 * j] + bs[2 * j + 1]);
    return s;
}

/* q2_K: in each half h of 128 elements, 32 bytes of qs hold element 32s + k (s < 4) in bits 2s of
   byte k; 16-element sub-block 8h + 2s + t is bytes 16t..16t + 15 at shift 2s, so shifting the
   two 16-byte loads right by 2 after each s walks the sub-blocks in order. Scale (low nibble)
   and min (high nibble) per 16; the min term from q8_K's bsums, one per sub-block. */
#define RF__ARM_Q2_K_DOT(name, target, dot16)                                                         \
    static target double name(const void *w, const void *a, int64_t n) {                             \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                               \
        const uint8x16_t m3 = vdupq_n_u8(3);                                                          \
        float acc = 0;                                                                                \
        int64_t i;                                                                                    \
        for (i = 0; i < n / 256; i++, x += 84, y += 292) {                                            \
            int16_t bs[16];                                                                           \
            int32x4_t isum = vdupq_n_s32(0);                                                          \
            int h, s, imin = 0;                                                                       \
            memcpy(bs, y + 260, sizeof bs);                                                           \
            for (s = 0; s < 16; s++) imin += (x[s] >> 4) * bs[s];                                    \
            for (h = 0; h < 2; h++) {                                                                 \
                const int8_t *ay = (const int8_t *)(y + 4 + 128 * h);                                 \
                const uint8_t *sc = x + 8 * h;                                                        \
                uint8x16_t q0 = vld1q_u8(x + 16 + 32 * h), q1 = vld1q_u8(x + 32 + 32 * h);            \
                for (s = 0; s < 4; s++, q0 = vshrq_n_u8(q0, 2), q1 = vshrq_n_u8(q1, 2)) {             \
                    const int8x16_t c0 = vreinterpretq_s8_u8(vandq_u8(q0, m3));                       \
                    const int8x16_t c1 = vreinterpretq_s8_u8(vandq_u8(q1, m3));                       \
                    isum = vmlaq_n_s32(isum, dot16(vdupq_n_s32(0), c0, vld1q_s8(ay + 32 * s)),        \
                                       sc[2 * s] & 15);                                               \
                    isum = vmlaq_n_s32(isum, dot16(vdupq_n_s32(0), c1, vld1q_s8(ay + 32 * s + 16)),   \
                                       sc[2 * s + 1] & 15);                                           \
                }                                                                                     \
            }                                                                                         \
            acc += rf__arm_f32(y) * (rf__arm_h2f(x + 80) * (float)vaddvq_s32(isum) -                  \
                                     rf__arm_h2f(x + 82) * (float)imin);                              \
        }                                                                                             \
        return acc;                                                                                   \
    }

/* q3_K: the low 2 bits placed as q2_K (qs at byte 32); element 32b + k (b = 4h + s) has its high
   bit in bit b of hmask[k], so hmask's two 16-byte halves pair with q2_K's two loads; a clear
   bit means minus 4 (code = low2 | 4 * bit, minus 4). Signed 6-bit scales per 16 (quant_k.c). */
#define RF__ARM_Q3_K_DOT(name, target, dot16)                                                         \
    static target double name(const void *w, const void *a, int64_t n) {                             \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                               \
        const uint8x16_t m3 = vdupq_n_u8(3), b2 = vdupq_n_u8(4);                                      \
        const int8x16_t four = vdupq_n_s8(4);                                                         \
        float acc = 0;                                                                                \
        int64_t i;                                                                                    \
        for (i = 0; i < n / 256; i++, x += 110, y += 292) {                                           \
            const uint8x16_t hm0 = vld1q_u8(x), hm1 = vld1q_u8(x + 16);                               \
            int32x4_t isum = vdupq_n_s32(0);                                                          \
            int sc[16], h, s;                                                                         \
            for (s = 0; s < 16; s++) sc[s] = rf__q3k_scale(x + 96, s);                                \
            for (h = 0; h < 2; h++) {                                                                 \
                const int8_t *ay = (const int8_t *)(y + 4 + 128 * h);                                 \
                uint8x16_t q0 = vld1q_u8(x + 32 + 32 * h), q1 = vld1q_u8(x + 48 + 32 * h);            \
                for (s = 0; s < 4; s++, q0 = vshrq_n_u8(q0, 2), q1 = vshrq_n_u8(q1, 2)) {             \
                    const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << (4 * h + s)));                  \
                    const int8x16_t c0 = vsubq_s8(                                                    \
                        vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q0, m3), vandq_u8(vtstq_u8(hm0, bit), b2))), four); \
                    const int8x16_t c1 = vsubq_s8(                                                    \
                        vreinterpretq_s8_u8(vorrq_u8(vandq_u8(q1, m3), vandq_u8(vtstq_u8(hm1, bit), b2))), four); \
                    isum = vmlaq_n_s32(isum, dot16(vdupq_n_s32(0), c0, vld1q_s8(ay + 32 * s)),        \
                                       sc[8 * h + 2 * s]);                                            \
                    isum = vmlaq_n_s32(isum, dot16(vdupq_n_s32(0), c1, vld1q_s8(ay + 32 * s + 16)),   \
                                       sc[8 * h + 2 * s + 1]);                                        \
                }                                                                                     \
            }                                                                                         \
            acc += rf__arm_f32(y) * rf__arm_h2f(x + 108) * (float)vaddvq_s32(isum);                   \
        }                                                                                             \
        return acc;                                                                                   \
    }

/* q4_K (Q5 0, 144 bytes, qs at 16) and q5_K (Q5 1, 176 bytes: qh[32] at 16, qs at 48): 32 bytes
   of qs hold sub-block 2j in the low nibbles and 2j + 1 in the high ones; q5_K adds the 5th bit
   of element k of sub-block j from bit j of qh[k] -- vtstq turns that bit into a lane mask, and
   with 16 into the code's bit 4 */
#define RF__ARM_Q45_K_DOT(name, target, dot16, Q5)                                                     \
    static target double name(const void *w, const void *a, int64_t n) {                              \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                                \
        const uint8x16_t b4 = vdupq_n_u8(16);                                                          \
        float acc = 0;                                                                                 \
        int64_t i;                                                                                     \
        for (i = 0; i < n / 256; i++, x += (Q5) ? 176 : 144, y += 292) {                               \
            const uint8_t *qs = x + ((Q5) ? 48 : 16);                                                  \
            const uint8x16_t qh0 = vld1q_u8(x + 16), qh1 = vld1q_u8(x + 32); /* q4_K: unused */        \
            int sc[8], m[8], j;                                                                        \
            int32x4_t isum = vdupq_n_s32(0);                                                           \
            for (j = 0; j < 8; j++) rf__get_scale_min_k4(x + 4, j, &sc[j], &m[j]);                     \
            for (j = 0; j < 4; j++) {                                                                  \
                const int8_t *ay = (const int8_t *)(y + 4 + 64 * j);                                   \
                int8x16_t l0, h0, l1, h1;                                                              \
                int32x4_t slo = vdupq_n_s32(0), shi = vdupq_n_s32(0);                                  \
                rf__arm_nibbles32(qs + 32 * j, &l0, &h0);                                              \
                rf__arm_nibbles32(qs + 16 + 32 * j, &l1, &h1);                                         \
                if (Q5) {                                                                              \
                    const uint8x16_t bl = vdupq_n_u8((uint8_t)(1u << (2 * j))), bh = vshlq_n_u8(bl, 1); \
                    l0 = vorrq_s8(l0, vreinterpretq_s8_u8(vandq_u8(vtstq_u8(qh0, bl), b4)));           \
                    l1 = vorrq_s8(l1, vreinterpretq_s8_u8(vandq_u8(vtstq_u8(qh1, bl), b4)));           \
                    h0 = vorrq_s8(h0, vreinterpretq_s8_u8(vandq_u8(vtstq_u8(qh0, bh), b4)));           \
                    h1 = vorrq_s8(h1, vreinterpretq_s8_u8(vandq_u8(vtstq_u8(qh1, bh), b4)));           \
                }                                                                                      \
                slo = dot16(dot16(slo, l0, vld1q_s8(ay)), l1, vld1q_s8(ay + 16));                      \
                shi = dot16(dot16(shi, h0, vld1q_s8(ay + 32)), h1, vld1q_s8(ay + 48));                 \
                isum = vmlaq_n_s32(isum, slo, sc[2 * j]);                                              \
                isum = vmlaq_n_s32(isum, shi, sc[2 * j + 1]);                                          \
            }                                                                                          \
            acc += rf__arm_f32(y) * (rf__arm_h2f(x) * (float)vaddvq_s32(isum) -                        \
                                     rf__arm_h2f(x + 2) * (float)rf__arm_q8_K_min_sum(y, m));          \
        }                                                                                              \
        return acc;                                                                                    \
    }

/* q6_K: in each half h of 128 elements, 64 bytes of ql (L0..L3, 16 each) and 32 of qh (H0, H1)
   give element r: low nibbles of L0..L3 for r < 64, high nibbles for r >= 64; the top 2 bits
   from bits 2 (r / 32) of H0 (r % 32 < 16) or H1. Code minus 32; one int8 scale per 16. */
#define RF__ARM_Q6_K_CODE(l, hb) \
    vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(l, vshlq_n_u8(vandq_u8(hb, m3), 4))), vdupq_n_s8(32))
#define RF__ARM_Q6_K_DOT(name, target, dot16)                                                             \
    static target double name(const void *w, const void *a, int64_t n) {                                 \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                                   \
        const uint8x16_t m4 = vdupq_n_u8(15), m3 = vdupq_n_u8(3);                                         \
        float acc = 0;                                                                                    \
        int64_t i;                                                                                        \
        for (i = 0; i < n / 256; i++, x += 210, y += 292) {                                               \
            const int8_t *sc = (const int8_t *)(x + 192);                                                 \
            int32x4_t isum = vdupq_n_s32(0);                                                              \
            int h, k;                                                                                     \
            for (h = 0; h < 2; h++) {                                                                     \
                const uint8_t *ql = x + 64 * h, *qh = x + 128 + 32 * h;                                   \
                const int8_t *ay = (const int8_t *)(y + 4 + 128 * h);                                     \
                const uint8x16_t H0 = vld1q_u8(qh), H1 = vld1q_u8(qh + 16);                               \
                int8x16_t q[8];                                                                           \
                for (k = 0; k < 4; k++) {                                                                 \
                    const uint8x16_t L = vld1q_u8(ql + 16 * k), H = k % 2 ? H1 : H0;                      \
                    const uint8x16_t Hs = k < 2 ? H : vshrq_n_u8(H, 2);                                   \
                    q[k] = RF__ARM_Q6_K_CODE(vandq_u8(L, m4), Hs);                                        \
                    q[k + 4] = RF__ARM_Q6_K_CODE(vshrq_n_u8(L, 4), vshrq_n_u8(Hs, 4));                    \
                }                                                                                         \
                for (k = 0; k < 8; k++)                                                                   \
                    isum = vmlaq_n_s32(isum, dot16(vdupq_n_s32(0), q[k], vld1q_s8(ay + 16 * k)),          \
                                       sc[8 * h + k]);                                                    \
            }                                                                                             \
            acc += rf__arm_f32(y) * rf__arm_h2f(x + 208) * (float)vaddvq_s32(isum);                       \
        }                                                                                                 \
        return acc;                                                                                       \
    }

/* iq4_xs: fp16 d, scales_h (2 bytes), scales_l[4], then qs at byte 8: sub-block j's 32 codes are
   the nibbles of qs[16j..16j + 15], low ones first (q4_0's order); one table lookup per 16 into
   the IQ4_NL code book, one signed 6-bit scale per 32 (rf__iq4xs_scale's packing). */
#define RF__ARM_IQ4_XS_DOT(name, target, dot16)                                                       \
    static target double name(const void *w, const void *a, int64_t n) {                             \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                               \
        const int8x16_t kv = vld1q_s8(rf__kvalues_iq4);                                               \
        float acc = 0;                                                                                \
        int64_t i;                                                                                    \
        for (i = 0; i < n / 256; i++, x += 136, y += 292) {                                           \
            const unsigned sh = (unsigned)x[2] | (unsigned)x[3] << 8;                                 \
            int32x4_t isum = vdupq_n_s32(0);                                                          \
            int j;                                                                                    \
            for (j = 0; j < 8; j++) {                                                                 \
                const int8_t *ay = (const int8_t *)(y + 4 + 32 * j);                                  \
                const int sc = (((x[4 + j / 2] >> (4 * (j % 2))) & 15) | (((sh >> (2 * j)) & 3) << 4)) - 32; \
                int8x16_t lo, hi;                                                                     \
                rf__arm_nibbles32(x + 8 + 16 * j, &lo, &hi);                                          \
                lo = vqtbl1q_s8(kv, vreinterpretq_u8_s8(lo));                                         \
                hi = vqtbl1q_s8(kv, vreinterpretq_u8_s8(hi));                                         \
                isum = vmlaq_n_s32(isum, dot16(dot16(vdupq_n_s32(0), lo, vld1q_s8(ay)), hi, vld1q_s8(ay + 16)), sc); \
            }                                                                                         \
            acc += rf__arm_f32(y) * rf__arm_h2f(x) * (float)vaddvq_s32(isum);                         \
        }                                                                                             \
        return acc;                                                                                   \
    }

RF__ARM_Q2_K_DOT(rf__dot_q2_K_q8_K_neon, , rf__arm_dot16)
RF__ARM_Q2_K_DOT(rf__dot_q2_K_q8_K_sdot, RF__DOTPROD, rf__arm_sdot16)
RF__ARM_Q3_K_DOT(rf__dot_q3_K_q8_K_neon, , rf__arm_dot16)
RF__ARM_Q3_K_DOT(rf__dot_q3_K_q8_K_sdot, RF__DOTPROD, rf__arm_sdot16)
RF__ARM_Q45_K_DOT(rf__dot_q4_K_q8_K_neon, , rf__arm_dot16, 0)
RF__ARM_Q45_K_DOT(rf__dot_q4_K_q8_K_sdot, RF__DOTPROD, rf__arm_sdot16, 0)
RF__ARM_Q45_K_DOT(rf__dot_q5_K_q8_K_neon, , rf__arm_dot16, 1)
RF__ARM_Q45_K_DOT(rf__dot_q5_K_q8_K_sdot, RF__DOTPROD, rf__arm_sdot16, 1)
RF__ARM_Q6_K_DOT(rf__dot_q6_K_q8_K_neon, , rf__arm_dot16)
RF__ARM_Q6_K_DOT(rf__dot_q6_K_q8_K_sdot, RF__DOTPROD, rf__arm_sdot16)
RF__ARM_IQ4_XS_DOT(rf__dot_iq4_xs_q8_K_neon, , rf__arm_dot16)
RF__ARM_IQ4_XS_DOT(rf__dot_iq4_xs_q8_K_sdot, RF__DOTPROD, rf__arm_sdot16)

static void rf__kernels_neon_k(rf__kernels *k, int dotprod) {
    k->dot[RF_TYPE_Q2_K] = dotprod ? rf__dot_q2_K_q8_K_sdot : rf__dot_q2_K_q8_K_neon;
    k->dot[RF_TYPE_Q3_K] = dotprod ? rf__dot_q3_K_q8_K_sdot : rf__dot_q3_K_q8_K_neon;
    k->dot[RF_TYPE_Q4_K] = dotprod ? rf__dot_q4_K_q8_K_sdot : rf__dot_q4_K_q8_K_neon;
    k->dot[RF_TYPE_Q5_K] = dotprod ? rf__dot_q5_K_q8_K_sdot : rf__dot_q5_K_q8_K_neon;
    k->dot[RF_TYPE_Q6_K] = dotprod ? rf__dot_q6_K_q8_K_sdot : rf__dot_q6_K_q8_K_neon;
    k->dot[RF_TYPE_IQ4_XS] = dotprod ? rf__dot_iq4_xs_q8_K_sdot : rf__dot_iq4_xs_q8_K_neon;
}
#endif /* RF__SIMD_ARM */
