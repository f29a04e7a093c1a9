/* simd_x86: AVX2 (+FMA, F16C) and AVX-512 VNNI kernels for the dot products of quant.c and
   quant_k.c, the q8 activation quantizers, and f16 rows. Each function carries its own target
   attribute, so the file compiles without -mavx2 and one binary runs on any x86-64; cpu.c calls
   these only after cpuid says the CPU has the features.

   Why they look like this: decode reads every weight once per token, so a kernel must unpack a
   block in fewer instructions than the memory takes to deliver it. Q4_0 is 18 bytes per 32
   weights; at ~19 GB/s per core that is one block per ~0.3 ns, ~1 cycle at 3.5 GHz, so the
   loop body must be a dozen simple instructions over 256-bit registers: nibbles -> bytes with
   one and/shift, int8 x int8 products with maddubs+madd (AVX2) or one vpdpbusd (VNNI), one fma
   into 8 float lanes. Signed x signed products use the sign trick (|x| * sign(y, x)) since
   maddubs/vpdpbusd take one unsigned operand.

   Results equal the scalar reference up to float summation order: integer block sums are exact,
   the scales are products of the same floats, and the accumulation is in float (the reference
   uses double). tests/test_simd.c bounds the difference. */

#if !defined(RF_NO_SIMD) && (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define RF__SIMD_X86 1
#include <cpuid.h>
#include <immintrin.h>

#define RF__AVX2 __attribute__((target("avx2,fma,f16c")))
#define RF__VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static RF__AVX2 inline float rf__x86_h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static RF__AVX2 inline float rf__x86_f32(const uint8_t *p) { /* a float at any address */
    float f;
    memcpy(&f, p, 4);
    return f;
}

static RF__AVX2 inline float rf__x86_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static RF__AVX2 inline int rf__x86_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* 32 packed nibbles (byte j: element j low, j + 16 high) -> 32 bytes 0..15 in element order */
static RF__AVX2 inline __m256i rf__x86_nibbles32(const uint8_t *qs) {
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    __m256i both = _mm256_insertf128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(15));
}

/* bit j of 4 bytes -> byte j = 0xff if set, 0 if clear (the q5 high bits) */
static RF__AVX2 inline __m256i rf__x86_bits32(const uint8_t *p) {
    uint32_t u;
    __m256i b;
    memcpy(&u, p, 4);
    b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)u), _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                                                          0x0101010101010101LL, 0));
    b = _mm256_or_si256(b, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfeLL));
    return _mm256_cmpeq_epi8(b, _mm256_set1_epi64x(-1));
}

/* Eight int32 lanes: sums of 4 adjacent products of signed bytes x and y (|x|, |y| <= 128 and
   never both -128: maddubs pairs stay below 2^15). */
static RF__AVX2 inline __m256i rf__x86_dot_i8_avx2(__m256i x, __m256i y) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
static RF__VNNI inline __m256i rf__x86_dot_i8_vnni(__m256i x, __m256i y) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/* ---------------------------------------------------------------------------------------------
   32-blocks against q8_0. One body per weight format; RF__X86_Q0_DOT instantiates it for AVX2
   and for VNNI (the only difference is the int8 product). UNPACK turns block pointer x into 32
   signed bytes qx; SCALE is the weight block's scale. */

#define RF__X86_Q0_DOT(name, target, dot_i8, wbytes, UNPACK, SCALE)                       \
    static target double name(const void *w, const void *a, int64_t n) {                  \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                    \
        __m256 acc = _mm256_setzero_ps();                                                  \
        int64_t i;                                                                         \
        for (i = 0; i < n / 32; i++, x += (wbytes), y += 34) {                             \
            __m256i qx, qy = _mm256_loadu_si256((const __m256i *)(y + 2));                \
            __m256 d = _mm256_set1_ps((SCALE) * rf__x86_h2f(y));                           \
            UNPACK;                                                                        \
            acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(qx, qy)), acc);            \
        }                                                                                  \
        return rf__x86_hsum(acc);                                                          \
    }

/* q4_0: nibble - 8 */
#define RF__X86_UNPACK_Q4_0 qx = _mm256_sub_epi8(rf__x86_nibbles32(x + 2), _mm256_set1_epi8(8))
/* q5_0: nibble | 16 * bit, minus 16 = nibble | (bit ? 0 : 0xf0) as a signed byte */
#define RF__X86_UNPACK_Q5_0 \
    qx = _mm256_or_si256(rf__x86_nibbles32(x + 6), _mm256_andnot_si256(rf__x86_bits32(x + 2), _mm256_set1_epi8((char)0xf0)))
#define RF__X86_UNPACK_Q8_0 qx = _mm256_loadu_si256((const __m256i *)(x + 2))
/* iq4_nl: nibble -> code book entry with one in-register table lookup */
#define RF__X86_UNPACK_IQ4_NL \
    qx = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)rf__kvalues_iq4)), rf__x86_nibbles32(x + 2))
#define RF__X86_UNPACK_MXFP4 \
    qx = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)rf__kvalues_mxfp4)), rf__x86_nibbles32(x + 1))

RF__X86_Q0_DOT(rf__dot_q4_0_q8_0_avx2, RF__AVX2, rf__x86_dot_i8_avx2, 18, RF__X86_UNPACK_Q4_0, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_q5_0_q8_0_avx2, RF__AVX2, rf__x86_dot_i8_avx2, 22, RF__X86_UNPACK_Q5_0, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_q8_0_q8_0_avx2, RF__AVX2, rf__x86_dot_i8_avx2, 34, RF__X86_UNPACK_Q8_0, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_iq4_nl_q8_0_avx2, RF__AVX2, rf__x86_dot_i8_avx2, 18, RF__X86_UNPACK_IQ4_NL, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_mxfp4_q8_0_avx2, RF__AVX2, rf__x86_dot_i8_avx2, 17, RF__X86_UNPACK_MXFP4, rf__e8m0_half(x[0]))
RF__X86_Q0_DOT(rf__dot_q4_0_q8_0_vnni, RF__VNNI, rf__x86_dot_i8_vnni, 18, RF__X86_UNPACK_Q4_0, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_q5_0_q8_0_vnni, RF__VNNI, rf__x86_dot_i8_vnni, 22, RF__X86_UNPACK_Q5_0, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_q8_0_q8_0_vnni, RF__VNNI, rf__x86_dot_i8_vnni, 34, RF__X86_UNPACK_Q8_0, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_iq4_nl_q8_0_vnni, RF__VNNI, rf__x86_dot_i8_vnni, 18, RF__X86_UNPACK_IQ4_NL, rf__x86_h2f(x))
RF__X86_Q0_DOT(rf__dot_mxfp4_q8_0_vnni, RF__VNNI, rf__x86_dot_i8_vnni, 17, RF__X86_UNPACK_MXFP4, rf__e8m0_half(x[0]))

/* The same for one weight row against four activations (a batch of tokens): the block is
   unpacked once and |x| computed once for all four. */
static RF__AVX2 inline __m256i rf__x86_dot_u8s8_avx2(__m256i ux, __m256i sy) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ux, sy), _mm256_set1_epi16(1));
}
static RF__VNNI inline __m256i rf__x86_dot_u8s8_vnni(__m256i ux, __m256i sy) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ux, sy);
}

#define RF__X86_Q0_STEP(c, dot_u8)                                                                        \
    do {                                                                                            \
        const uint8_t *yc = y + (uint64_t)(c) * as;                                                 \
        __m256i qy = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(yc + 2)), qx);           \
        acc##c = _mm256_fmadd_ps(_mm256_set1_ps(dx * rf__x86_h2f(yc)), _mm256_cvtepi32_ps(dot_u8(ax, qy)), acc##c); \
    } while (0)

#define RF__X86_Q0_DOT4(name, target, dot_u8, wbytes, UNPACK, SCALE)                                     \
    static target void name(const void *w, const void *a, uint64_t as, int64_t n, float out[4]) {        \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                                 \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;                        \
        int64_t i;                                                                                      \
        for (i = 0; i < n / 32; i++, x += (wbytes), y += 34) {                                          \
            __m256i qx, ax;                                                                             \
            float dx = (SCALE);                                                                         \
            UNPACK;                                                                                     \
            ax = _mm256_sign_epi8(qx, qx);                                                              \
            RF__X86_Q0_STEP(0, dot_u8);                                                                         \
            RF__X86_Q0_STEP(1, dot_u8);                                                                         \
            RF__X86_Q0_STEP(2, dot_u8);                                                                         \
            RF__X86_Q0_STEP(3, dot_u8);                                                                         \
        }                                                                                               \
        out[0] = rf__x86_hsum(acc0);                                                                    \
        out[1] = rf__x86_hsum(acc1);                                                                    \
        out[2] = rf__x86_hsum(acc2);                                                                    \
        out[3] = rf__x86_hsum(acc3);                                                                    \
    }

RF__X86_Q0_DOT4(rf__dot4_q4_0_q8_0_avx2, RF__AVX2, rf__x86_dot_u8s8_avx2, 18, RF__X86_UNPACK_Q4_0, rf__x86_h2f(x))
RF__X86_Q0_DOT4(rf__dot4_q8_0_q8_0_avx2, RF__AVX2, rf__x86_dot_u8s8_avx2, 34, RF__X86_UNPACK_Q8_0, rf__x86_h2f(x))
RF__X86_Q0_DOT4(rf__dot4_q4_0_q8_0_vnni, RF__VNNI, rf__x86_dot_u8s8_vnni, 18, RF__X86_UNPACK_Q4_0, rf__x86_h2f(x))
RF__X86_Q0_DOT4(rf__dot4_q8_0_q8_0_vnni, RF__VNNI, rf__x86_dot_u8s8_vnni, 34, RF__X86_UNPACK_Q8_0, rf__x86_h2f(x))

/* q4_1 / q5_1 against q8_1: unsigned codes, so maddubs takes them as they are; the offset
   term is m * s per block (s = d_a * sum(a) is stored in the q8_1 block). */
static RF__AVX2 double rf__dot_q4_1_q8_1_avx2(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    int64_t i;
    for (i = 0; i < n / 32; i++, x += 20, y += 36) {
        __m256i p = _mm256_maddubs_epi16(rf__x86_nibbles32(x + 4), _mm256_loadu_si256((const __m256i *)(y + 4)));
        __m256 d = _mm256_set1_ps(rf__x86_h2f(x) * rf__x86_h2f(y));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1))), acc);
        off += rf__x86_h2f(x + 2) * rf__x86_h2f(y + 2);
    }
    return rf__x86_hsum(acc) + off;
}

static RF__AVX2 double rf__dot_q5_1_q8_1_avx2(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    int64_t i;
    for (i = 0; i < n / 32; i++, x += 24, y += 36) {
        __m256i q = _mm256_or_si256(rf__x86_nibbles32(x + 8), _mm256_and_si256(rf__x86_bits32(x + 4), _mm256_set1_epi8(16)));
        __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(y + 4)));
        __m256 d = _mm256_set1_ps(rf__x86_h2f(x) * rf__x86_h2f(y));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1))), acc);
        off += rf__x86_h2f(x + 2) * rf__x86_h2f(y + 2);
    }
    return rf__x86_hsum(acc) + off;
}

/* ---------------------------------------------------------------------------------------------
   K-quants against q8_K (292-byte blocks: float d, qs[256], bsums[16]). Codes are unsigned, so
   maddubs(q, a) is exact (|pair| <= 63 * 128 * 2 < 2^15); the sub-block scales multiply the
   int16 pair sums in madd, so a whole super-block sums in int32 before one float fma. The
   minimum terms use bsums, one scalar multiply-add per sub-block. */

static RF__AVX2 inline int rf__x86_bsum(const uint8_t *y, int j) { /* bsums[j] of a q8_K block */
    int16_t s;
    memcpy(&s, y + 260 + 2 * j, 2);
    return s;
}

static RF__AVX2 double rf__dot_q4_K_q8_K_avx2(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc = _mm256_setzero_ps();
    float accm = 0;
    int64_t i;
    for (i = 0; i < n / 256; i++, x += 144, y += 292) {
        __m256i sumi = _mm256_setzero_si256();
        int sc[8], m[8], j, imin = 0;
        float dy = rf__x86_f32(y);
        for (j = 0; j < 8; j++) {
            rf__get_scale_min_k4(x + 4, j, &sc[j], &m[j]);
            imin += m[j] * (rf__x86_bsum(y, 2 * j) + rf__x86_bsum(y, 2 * j + 1));
        }
        for (j = 0; j < 4; j++) {
            __m256i q4 = _mm256_loadu_si256((const __m256i *)(x + 16 + 32 * j));
            __m256i lo = _mm256_and_si256(q4, _mm256_set1_epi8(15)), hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), _mm256_set1_epi8(15));
            __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(y + 4 + 64 * j)));
            __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(y + 36 + 64 * j)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(pl, _mm256_set1_epi16((short)sc[2 * j])));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(ph, _mm256_set1_epi16((short)sc[2 * j + 1])));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * rf__x86_h2f(x)), _mm256_cvtepi32_ps(sumi), acc);
        accm += dy * rf__x86_h2f(x + 2) * (float)imin;
    }
    return rf__x86_hsum(acc) - accm;
}

static RF__AVX2 double rf__dot_q5_K_q8_K_avx2(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc = _mm256_setzero_ps();
    float accm = 0;
    int64_t i;
    for (i = 0; i < n / 256; i++, x += 176, y += 292) {
        __m256i sumi = _mm256_setzero_si256(), qh = _mm256_loadu_si256((const __m256i *)(x + 16));
        int sc[8], m[8], j, imin = 0;
        float dy = rf__x86_f32(y);
        for (j = 0; j < 8; j++) {
            rf__get_scale_min_k4(x + 4, j, &sc[j], &m[j]);
            imin += m[j] * (rf__x86_bsum(y, 2 * j) + rf__x86_bsum(y, 2 * j + 1));
        }
        for (j = 0; j < 4; j++) {
            __m256i q4 = _mm256_loadu_si256((const __m256i *)(x + 48 + 32 * j)), one = _mm256_set1_epi8(1);
            /* bit 2j of qh[k] is the 5th bit of sub-block 2j, bit 2j + 1 of sub-block 2j + 1 */
            __m256i hl = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), hh = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(q4, _mm256_set1_epi8(15)), _mm256_slli_epi16(hl, 4));
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4, 4), _mm256_set1_epi8(15)), _mm256_slli_epi16(hh, 4));
            __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(y + 4 + 64 * j)));
            __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(y + 36 + 64 * j)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(pl, _mm256_set1_epi16((short)sc[2 * j])));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(ph, _mm256_set1_epi16((short)sc[2 * j + 1])));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * rf__x86_h2f(x)), _mm256_cvtepi32_ps(sumi), acc);
        accm += dy * rf__x86_h2f(x + 2) * (float)imin;
    }
    return rf__x86_hsum(acc) - accm;
}

/* q6_K: 6-bit codes c in [0, 63] stand for c - 32; maddubs(c, a) - maddubs(32, a) is the signed
   sum. Scales are per 16 elements: the low 8 int16 pair sums of a 32-byte half get one scale,
   the high 8 the next. */
static RF__AVX2 double rf__dot_q6_K_q8_K_avx2(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc = _mm256_setzero_ps();
    int64_t i;
    for (i = 0; i < n / 256; i++, x += 210, y += 292) {
        const int8_t *sc = (const int8_t *)(x + 192);
        __m256i sumi = _mm256_setzero_si256();
        int h, k;
        for (h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(x + 64 * h)), l1 = _mm256_loadu_si256((const __m256i *)(x + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(x + 128 + 32 * h));
            for (k = 0; k < 4; k++) { /* r in [32k, 32k + 32): nibble k / 2 of ql[64h + r % 64], bits 2k of qh */
                __m256i lb = k & 1 ? l1 : l0;
                __m256i lo = _mm256_and_si256(k < 2 ? lb : _mm256_srli_epi16(lb, 4), _mm256_set1_epi8(15));
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), _mm256_set1_epi8(3));
                __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                __m256i ay = _mm256_loadu_si256((const __m256i *)(y + 4 + 128 * h + 32 * k));
                __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, ay), _mm256_maddubs_epi16(_mm256_set1_epi8(32), ay));
                int s = 8 * h + 2 * k;
                __m256i scv = _mm256_insertf128_si256(_mm256_castsi128_si256(_mm_set1_epi16(sc[s])), _mm_set1_epi16(sc[s + 1]), 1);
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scv));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rf__x86_f32(y) * rf__x86_h2f(x + 208)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return rf__x86_hsum(acc);
}

/* VNNI versions: the 6-bit scales and mins of a q4_K block decoded with a few 32-bit operations
   (bytes 0..7 of the result: scales 0..7; bytes 8..15: mins; the layout rf__get_scale_min_k4
   reads), the int16 pair sums of maddubs scaled and added by one vpdpwssd, and the minimum /
   offset terms from the q8_K block sums with one madd: no scalar loop per sub-block. */
static RF__AVX2 inline __m128i rf__x86_q4k_scales(const uint8_t *s12) {
    uint32_t u[4], aux;
    memcpy(u, s12, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    aux = u[1] & 0x3f3f3f3fu;
    u[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    u[2] = aux;
    u[0] &= 0x3f3f3f3fu;
    return _mm_setr_epi32((int)u[0], (int)u[1], (int)u[2], (int)u[3]);
}

/* q4_K with zmm: one register holds two 64-element chunks (qs[0..64) or qs[64..128)): the low
   nibbles are sub-blocks 2c and 2c + 2, the high ones 2c + 1 and 2c + 3, against the matching
   32-byte activation halves; the scale words reach their 256-bit halves by one shuffle. Single
   thread, 64K rows of 2048: 28 GB/s with 256-bit registers, ~29-35 with these (one run each,
   shared machine). g++ warns inside its own 512-bit intrinsics (see simd_x86_mm.c): silenced here. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
static RF__VNNI double rf__dot_q4_K_q8_K_vnni(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    const __m512i m4 = _mm512_set1_epi8(15);
    const __m128i dup = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    /* scale word k in the low 256 bits, k + 2 in the high (sub-blocks k and k + 2) */
#define RF__X86_W2(k) (((2 * (k) + 1) << 8 | 2 * (k)) * 0x10001)
#define RF__X86_W2H(k) (((2 * (k) + 5) << 8 | (2 * (k) + 4)) * 0x10001)
#define RF__X86_SC2(k)                                                                                             \
    _mm512_shuffle_epi8(scz, _mm512_setr_epi32(RF__X86_W2(k), RF__X86_W2(k), RF__X86_W2(k), RF__X86_W2(k), RF__X86_W2(k), \
                                               RF__X86_W2(k), RF__X86_W2(k), RF__X86_W2(k), RF__X86_W2H(k), RF__X86_W2H(k), \
                                               RF__X86_W2H(k), RF__X86_W2H(k), RF__X86_W2H(k), RF__X86_W2H(k), RF__X86_W2H(k), \
                                               RF__X86_W2H(k)))
#define RF__X86_Y2(o0, o1) \
    _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(y + (o0)))), _mm256_loadu_si256((const __m256i *)(y + (o1))), 1)
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    int64_t i;
    for (i = 0; i < n / 256; i++, x += 144, y += 292) {
        const __m128i scm = rf__x86_q4k_scales(x + 4);
        const __m512i scz = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(scm)); /* scales 0..7 as words, every lane */
        const __m256i mins = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm_shuffle_epi8(scm, dup)),
                                               _mm256_loadu_si256((const __m256i *)(y + 260)));
        const __m512i q0 = _mm512_loadu_si512((const void *)(x + 16)), q1 = _mm512_loadu_si512((const void *)(x + 80));
        __m512i s0, s1;
        __m256i sumi;
        /* chunk c's low nibbles: sub-block 2c (activation y + 4 + 64c), high: 2c + 1 (y + 36 + 64c) */
        s0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(_mm512_and_si512(q0, m4), RF__X86_Y2(4, 68)), RF__X86_SC2(0));
        s1 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(q0, 4), m4), RF__X86_Y2(36, 100)),
                                 RF__X86_SC2(1));
        s0 = _mm512_dpwssd_epi32(s0, _mm512_maddubs_epi16(_mm512_and_si512(q1, m4), RF__X86_Y2(132, 196)), RF__X86_SC2(4));
        s1 = _mm512_dpwssd_epi32(s1, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(q1, 4), m4), RF__X86_Y2(164, 228)), RF__X86_SC2(5));
        s0 = _mm512_add_epi32(s0, s1);
        sumi = _mm256_add_epi32(_mm512_castsi512_si256(s0), _mm512_extracti64x4_epi64(s0, 1));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rf__x86_f32(y) * rf__x86_h2f(x)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(rf__x86_f32(y) * rf__x86_h2f(x + 2)), _mm256_cvtepi32_ps(mins), accm);
    }
#undef RF__X86_SC2
#undef RF__X86_W2
#undef RF__X86_W2H
#undef RF__X86_Y2
    return rf__x86_hsum(acc) - rf__x86_hsum(accm);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* q6_K chunk k (< 4) of half h: elements 128h + 32k.. (groups 8h + 2k and 8h + 2k + 1); sch holds
   scales 8h..8h+7 in both lanes, the shuffle takes word 2k into the low lane, 2k + 1 into the high */
#define RF__X86_Q6K_CHUNK(k)                                                                                     \
    do {                                                                                                       \
        const __m256i lb = (k) & 1 ? l1 : l0;                                                                  \
        const __m256i lo = _mm256_and_si256((k) < 2 ? lb : _mm256_srli_epi16(lb, 4), m4);                      \
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * (k)), m2);                               \
        const __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));                                       \
        const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(y + 4 + 128 * h + 32 * (k)))); \
        const short wlo = (short)(((4 * (k) + 1) << 8) | (4 * (k))), whi = (short)(((4 * (k) + 3) << 8) | (4 * (k) + 2)); \
        sum[(k) & 1] = _mm256_dpwssd_epi32(sum[(k) & 1], p, _mm256_shuffle_epi8(sch, _mm256_setr_epi16(wlo, wlo, wlo, wlo, wlo, wlo, wlo, wlo, \
                                                                                       whi, whi, whi, whi, whi, whi, whi, whi))); \
    } while (0)

/* q6_K: sum over groups of sc * sum (c - 32) a = sum sc * sum c a - 32 * sum sc * bsum */
static RF__VNNI double rf__dot_q6_K_q8_K_vnni(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    int64_t i;
    for (i = 0; i < n / 256; i++, x += 210, y += 292) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 192)));
        const __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)(y + 260)));
        __m256i sum[2], sumi;
        int h;
        sum[0] = sum[1] = _mm256_setzero_si256();
        for (h = 0; h < 2; h++) {
            const __m256i sch = h ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00);
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x + 64 * h)), l1 = _mm256_loadu_si256((const __m256i *)(x + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256((const __m256i *)(x + 128 + 32 * h));
            RF__X86_Q6K_CHUNK(0);
            RF__X86_Q6K_CHUNK(1);
            RF__X86_Q6K_CHUNK(2);
            RF__X86_Q6K_CHUNK(3);
        }
        sumi = _mm256_sub_epi32(_mm256_add_epi32(sum[0], sum[1]), _mm256_slli_epi32(off, 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(rf__x86_f32(y) * rf__x86_h2f(x + 208)), _mm256_cvtepi32_ps(sumi), acc);
    }
    return rf__x86_hsum(acc);
}

/* Four activations per q4_K row: scales, mins and nibbles decoded once. */
static RF__AVX2 void rf__dot4_q4_K_q8_K_avx2(const void *w, const void *a, uint64_t as, int64_t n, float out[4]) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc[4];
    float accm[4];
    int64_t i;
    int c;
    for (c = 0; c < 4; c++) acc[c] = _mm256_setzero_ps(), accm[c] = 0;
    for (i = 0; i < n / 256; i++, x += 144, y += 292) {
        __m256i sumi[4], sc16[8];
        int sc[8], m[8], j;
        float dx = rf__x86_h2f(x), mx = rf__x86_h2f(x + 2);
        for (j = 0; j < 8; j++) {
            rf__get_scale_min_k4(x + 4, j, &sc[j], &m[j]);
            sc16[j] = _mm256_set1_epi16((short)sc[j]);
        }
        for (c = 0; c < 4; c++) {
            const uint8_t *yc = y + (uint64_t)c * as;
            int imin = 0;
            for (j = 0; j < 8; j++) imin += m[j] * (rf__x86_bsum(yc, 2 * j) + rf__x86_bsum(yc, 2 * j + 1));
            accm[c] += rf__x86_f32(yc) * mx * (float)imin;
            sumi[c] = _mm256_setzero_si256();
        }
        for (j = 0; j < 4; j++) {
            __m256i q4 = _mm256_loadu_si256((const __m256i *)(x + 16 + 32 * j));
            __m256i lo = _mm256_and_si256(q4, _mm256_set1_epi8(15)), hi = _mm256_and_si256(_mm256_srli_epi16(q4, 4), _mm256_set1_epi8(15));
            for (c = 0; c < 4; c++) {
                const uint8_t *yc = y + (uint64_t)c * as;
                __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(yc + 4 + 64 * j)));
                __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(yc + 36 + 64 * j)));
                sumi[c] = _mm256_add_epi32(sumi[c], _mm256_add_epi32(_mm256_madd_epi16(pl, sc16[2 * j]), _mm256_madd_epi16(ph, sc16[2 * j + 1])));
            }
        }
        for (c = 0; c < 4; c++)
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(dx * rf__x86_f32(y + (uint64_t)c * as)), _mm256_cvtepi32_ps(sumi[c]), acc[c]);
    }
    for (c = 0; c < 4; c++) out[c] = rf__x86_hsum(acc[c]) - accm[c];
}

static RF__AVX2 void rf__dot4_q6_K_q8_K_avx2(const void *w, const void *a, uint64_t as, int64_t n, float out[4]) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    __m256 acc[4];
    int64_t i;
    int c;
    for (c = 0; c < 4; c++) acc[c] = _mm256_setzero_ps();
    for (i = 0; i < n / 256; i++, x += 210, y += 292) {
        const int8_t *sc = (const int8_t *)(x + 192);
        __m256i sumi[4];
        int h, k;
        for (c = 0; c < 4; c++) sumi[c] = _mm256_setzero_si256();
        for (h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(x + 64 * h)), l1 = _mm256_loadu_si256((const __m256i *)(x + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(x + 128 + 32 * h));
            for (k = 0; k < 4; k++) {
                __m256i lb = k & 1 ? l1 : l0;
                __m256i lo = _mm256_and_si256(k < 2 ? lb : _mm256_srli_epi16(lb, 4), _mm256_set1_epi8(15));
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), _mm256_set1_epi8(3));
                __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                int s = 8 * h + 2 * k;
                __m256i scv = _mm256_insertf128_si256(_mm256_castsi128_si256(_mm_set1_epi16(sc[s])), _mm_set1_epi16(sc[s + 1]), 1);
                for (c = 0; c < 4; c++) {
                    __m256i ay = _mm256_loadu_si256((const __m256i *)(y + (uint64_t)c * as + 4 + 128 * h + 32 * k));
                    __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, ay), _mm256_maddubs_epi16(_mm256_set1_epi8(32), ay));
                    sumi[c] = _mm256_add_epi32(sumi[c], _mm256_madd_epi16(p, scv));
                }
            }
        }
        for (c = 0; c < 4; c++)
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(rf__x86_f32(y + (uint64_t)c * as) * rf__x86_h2f(x + 208)),
                                     _mm256_cvtepi32_ps(sumi[c]), acc[c]);
    }
    for (c = 0; c < 4; c++) out[c] = rf__x86_hsum(acc[c]);
}

/* ---------------------------------------------------------------------------------------------
   f16 / bf16 weights against f32 activations, and f32 . f32 (attention): 4 independent fma
   chains hide the fma latency. */

static RF__AVX2 double rf__dot_f16_f32_avx2(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w;
    const float *y = (const float *)a;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    float tail = 0;
    int64_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + 2 * i))), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + 2 * i + 16))), _mm256_loadu_ps(y + i + 8), s1);
    }
    for (; i < n; i++) tail += rf__x86_h2f(x + 2 * i) * rf__x86_f32((const uint8_t *)(y + i)); /* rows may be unaligned */
    return rf__x86_hsum(_mm256_add_ps(s0, s1)) + tail;
}

static RF__AVX2 double rf__dot_bf16_f32_avx2(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w;
    const float *y = (const float *)a;
    __m256 s0 = _mm256_setzero_ps();
    float tail = 0;
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        __m256i b = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(x + 2 * i))), 16);
        s0 = _mm256_fmadd_ps(_mm256_castsi256_ps(b), _mm256_loadu_ps(y + i), s0);
    }
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, x + 2 * i, 2);
        tail += rf_bf16_to_fp32(h) * rf__x86_f32((const uint8_t *)(y + i));
    }
    return rf__x86_hsum(s0) + tail;
}

static RF__AVX2 double rf__dot_f32_f32_avx2(const void *w, const void *a, int64_t n) {
    const float *x = (const float *)w, *y = (const float *)a;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    float tail = 0;
    int64_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
    }
    for (; i < n; i++) tail += rf__x86_f32((const uint8_t *)(x + i)) * rf__x86_f32((const uint8_t *)(y + i));
    return rf__x86_hsum(_mm256_add_ps(s0, s1)) + tail;
}

static RF__AVX2 void rf__axpy_f16_avx2(float a, const void *x, float *y, int64_t n) {
    const uint8_t *h = (const uint8_t *)x;
    const __m256 av = _mm256_set1_ps(a);
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + 2 * i))), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * rf__x86_h2f(h + 2 * i);
}

/* e^x for 8 floats: x = n ln2 + r (|r| <= ln2 / 2, ln2 split in two for an exact product), e^r
   by Cephes' degree-5 polynomial (relative error ~1.5e-7 on [-87, 88]), 2^n into the exponent.
   Inputs are clamped to [-87.3, 88.7]: +inf past that end, 2^-126-ish (not 0) below. NaN -> NaN. */
static RF__AVX2 inline __m256 rf__x86_exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.7f), lo = _mm256_set1_ps(-87.3f);
    const __m256 big = _mm256_cmp_ps(x, hi, _CMP_GT_OQ), nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q), x0 = x;
    __m256 n, r, p;
    __m256i e;
    x = _mm256_max_ps(_mm256_min_ps(x, hi), lo); /* a NaN becomes hi here; put back at the end */
    n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* n in [-126, 128]: 2^n as (n + 127) << 23, split in two factors so n = 128 does not overflow */
    e = _mm256_cvtps_epi32(n);
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_srai_epi32(e, 1), _mm256_set1_epi32(127)), 23)));
    p = _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(e, _mm256_srai_epi32(e, 1)), _mm256_set1_epi32(127)), 23)));
    return _mm256_blendv_ps(_mm256_blendv_ps(p, _mm256_set1_ps(INFINITY), big), x0, nan);
}

/* silu(g) * u = g u / (1 + e^-g) */
static RF__AVX2 void rf__glu_silu_avx2(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), rf__x86_exp8(_mm256_sub_ps(_mm256_setzero_ps(), g)));
        _mm256_storeu_ps(out + i, _mm256_div_ps(_mm256_mul_ps(g, _mm256_loadu_ps(up + i)), d));
    }
    for (; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* gelu(g) * u with tanh(v) = 1 - 2 / (1 + e^2v): 0.5 g (1 + tanh v) = g - g / (1 + e^2v) */
static RF__AVX2 void rf__glu_gelu_avx2(float *out, const float *gate, const float *up, int64_t n) {
    const __m256 k = _mm256_set1_ps(2.0f * 0.7978845608028654f), c = _mm256_set1_ps(0.044715f), one = _mm256_set1_ps(1.0f);
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 v2 = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c, g), _mm256_mul_ps(g, g), g));
        __m256 gl = _mm256_sub_ps(g, _mm256_div_ps(g, _mm256_add_ps(one, rf__x86_exp8(v2))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(gl, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) {
        const float x = gate[i];
        out[i] = 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x))) * up[i];
    }
}

static RF__AVX2 void rf__f16_to_f32_avx2(const void *src, float *dst, int64_t n) {
    const uint8_t *s = (const uint8_t *)src;
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + 2 * i))));
    for (; i < n; i++) dst[i] = rf__x86_h2f(s + 2 * i);
}

/* ---------------------------------------------------------------------------------------------
   Activation quantizers, bit-identical to quant.c's: the same fp16 / float scale computed the
   same way (scalar, once per block), then codes round(x / d) with halves away from zero --
   computed in double, as the reference does, so a half never rounds the other way. */

/* 8 codes of x[0..8) / d (double), rounded half away from zero, clamped to [-127, 127]; NaN -> 0 */
static RF__AVX2 inline __m256i rf__x86_round8(const float *x, __m256d d) {
    __m256d lim = _mm256_set1_pd(127.0), half = _mm256_set1_pd(0.5), sign = _mm256_set1_pd(-0.0);
    __m256d v0 = _mm256_div_pd(_mm256_cvtps_pd(_mm_loadu_ps(x)), d), v1 = _mm256_div_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + 4)), d);
    __m256d a0 = _mm256_min_pd(_mm256_floor_pd(_mm256_add_pd(_mm256_andnot_pd(sign, v0), half)), lim);
    __m256d a1 = _mm256_min_pd(_mm256_floor_pd(_mm256_add_pd(_mm256_andnot_pd(sign, v1), half)), lim);
    a0 = _mm256_and_pd(_mm256_or_pd(a0, _mm256_and_pd(sign, v0)), _mm256_cmp_pd(v0, v0, _CMP_ORD_Q));
    a1 = _mm256_and_pd(_mm256_or_pd(a1, _mm256_and_pd(sign, v1)), _mm256_cmp_pd(v1, v1, _CMP_ORD_Q));
    return _mm256_insertf128_si256(_mm256_castsi128_si256(_mm256_cvtpd_epi32(a0)), _mm256_cvtpd_epi32(a1), 1);
}

/* 32 int32 (four registers of 8) -> 32 int8, in order */
static RF__AVX2 inline __m256i rf__x86_pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i r = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static RF__AVX2 inline float rf__x86_absmax(const float *x, int n) { /* NaN elements ignored */
    __m256 m = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f);
    int i;
    for (i = 0; i < n; i += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), m);
    {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
}

static RF__AVX2 void rf__quant_q8_0_avx2(const float *src, void *dst, int64_t n) {
    uint8_t *o = (uint8_t *)dst;
    int64_t i;
    for (i = 0; i < n / 32; i++, o += 34, src += 32) {
        uint16_t dh = rf__fp16_scale((double)rf__x86_absmax(src, 32) / 127.0);
        __m256d d = _mm256_set1_pd((double)rf_fp16_to_fp32(dh));
        memcpy(o, &dh, 2);
        if (dh == 0 || (dh & 0x7fff) == 0) {
            memset(o + 2, 0, 32);
            continue;
        }
        _mm256_storeu_si256((__m256i *)(o + 2), rf__x86_pack32(rf__x86_round8(src, d), rf__x86_round8(src + 8, d),
                                                               rf__x86_round8(src + 16, d), rf__x86_round8(src + 24, d)));
    }
}

static RF__AVX2 void rf__quant_q8_K_avx2(const float *src, void *dst, int64_t n) {
    uint8_t *o = (uint8_t *)dst;
    int64_t i;
    int j;
    for (i = 0; i < n / 256; i++, o += 292, src += 256) {
        float x[256], d;
        int16_t bs[16];
        __m256 big = _mm256_set1_ps(FLT_MAX), nbig = _mm256_set1_ps(-FLT_MAX);
        for (j = 0; j < 256; j += 8) { /* the reference's sanitize: NaN -> 0, +-inf -> +-FLT_MAX */
            __m256 v = _mm256_loadu_ps(src + j);
            v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
            _mm256_storeu_ps(x + j, _mm256_max_ps(_mm256_min_ps(v, big), nbig));
        }
        d = (float)((double)rf__x86_absmax(x, 256) / 127.0);
        while (d * 127.0f > FLT_MAX) d = nextafterf(d, 0.0f);
        memcpy(o, &d, 4);
        if (d == 0.0f) {
            memset(o + 4, 0, 288);
            continue;
        }
        for (j = 0; j < 8; j++) {
            __m256d dd = _mm256_set1_pd((double)d);
            const float *xj = x + 32 * j;
            __m256i q = rf__x86_pack32(rf__x86_round8(xj, dd), rf__x86_round8(xj + 8, dd), rf__x86_round8(xj + 16, dd),
                                       rf__x86_round8(xj + 24, dd));
            /* the two 16-element sums: maddubs(1, q) pairs, then madd(1) within each half */
            __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
            __m128i lo = _mm256_castsi256_si128(s), hi = _mm256_extracti128_si256(s, 1);
            _mm256_storeu_si256((__m256i *)(o + 4 + 32 * j), q);
            lo = _mm_add_epi32(lo, _mm_shuffle_epi32(lo, 0x4e));
            hi = _mm_add_epi32(hi, _mm_shuffle_epi32(hi, 0x4e));
            bs[2 * j] = (int16_t)(_mm_cvtsi128_si32(lo) + _mm_extract_epi32(lo, 1));
            bs[2 * j + 1] = (int16_t)(_mm_cvtsi128_si32(hi) + _mm_extract_epi32(hi, 1));
        }
        memcpy(o + 260, bs, 32);
    }
}

/* ---------------------------------------------------------------------------------------------
   CPU features (cpuid leaf 7 and the OS's XSAVE state: AVX registers are usable only when
   XCR0 says the OS saves them) */

static uint64_t rf__x86_xgetbv(void) {
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0)); /* xgetbv, any assembler */
    return ((uint64_t)hi << 32) | lo;
}

static unsigned rf__x86_features(void) {
    unsigned a, b, c, d, f = 0;
    uint64_t xcr0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27)) || !(c & (1u << 28))) return 0; /* osxsave, avx */
    xcr0 = rf__x86_xgetbv();
    if ((xcr0 & 6) != 6) return 0; /* xmm and ymm state */
    if (c & (1u << 12)) f |= RF__CPU_FMA;
    if (c & (1u << 29)) f |= RF__CPU_F16C;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    if (b & (1u << 5)) f |= RF__CPU_AVX2;
    if ((xcr0 & 0xe0) == 0xe0) { /* opmask and zmm state */
        if (b & (1u << 16)) f |= RF__CPU_AVX512F;
        if (b & (1u << 30)) f |= RF__CPU_AVX512BW;
        if (b & (1u << 31)) f |= RF__CPU_AVX512VL;
        if (c & (1u << 11)) f |= RF__CPU_AVX512VNNI;
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4))) f |= RF__CPU_AVXVNNI;
    return f;
}
#endif /* RF__SIMD_X86 */
