/* simd_arm: NEON kernels for aarch64 (every aarch64 CPU has NEON), and the int8 dot product
   instructions (sdot, ARMv8.2 dotprod) where getauxval says the CPU has them. Dot products of
   the 32-blocks (Q4_0 Q5_0 Q8_0 IQ4_NL MXFP4 against q8_0, Q4_1 Q5_1 against q8_1), F16, BF16
   and F32 here, the K-quants' and IQ4_XS's in simd_arm_k.c; the table keeps the scalar
   reference for the rest. */

#if !defined(RF_NO_SIMD) && defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define RF__SIMD_ARM 1
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif

/* The sdot functions' target: clang names the feature alone ("arch=armv8.2-a+dotprod" is an
   unknown architecture to clang 14), gcc as an architecture extension. */
#if defined(__clang__)
#define RF__DOTPROD __attribute__((target("dotprod")))
#else
#define RF__DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

static float rf__arm_h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return rf_fp16_to_fp32(h);
}

/* 32 packed nibbles -> two registers of 16 bytes 0..15 in element order */
static inline void rf__arm_nibbles32(const uint8_t *qs, int8x16_t *lo, int8x16_t *hi) {
    uint8x16_t q = vld1q_u8(qs);
    *lo = vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(15)));
    *hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
}

/* q5_0 / q5_1: bit i of the 4 bytes qh is bit 4 of element i; vtstq turns each lane's bit
   (byte i / 8, bit i % 8) into a mask, and with 16 into that bit */
static const uint8_t rf__arm_lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
static inline void rf__arm_bit4_32(const uint8_t *qh, int8x16_t *lo, int8x16_t *hi) {
    const uint8x16_t bit = vld1q_u8(rf__arm_lane_bit), b4 = vdupq_n_u8(16);
    const uint8x16_t h0 = vcombine_u8(vdup_n_u8(qh[0]), vdup_n_u8(qh[1])), h1 = vcombine_u8(vdup_n_u8(qh[2]), vdup_n_u8(qh[3]));
    *lo = vorrq_s8(*lo, vreinterpretq_s8_u8(vandq_u8(vtstq_u8(h0, bit), b4)));
    *hi = vorrq_s8(*hi, vreinterpretq_s8_u8(vandq_u8(vtstq_u8(h1, bit), b4)));
}

/* sum of x[i] * y[i] over 16 signed bytes, plain NEON: widening multiplies, pairwise adds */
static inline int32x4_t rf__arm_dot16(int32x4_t acc, int8x16_t x, int8x16_t y) {
    int16x8_t p0 = vmull_s8(vget_low_s8(x), vget_low_s8(y)), p1 = vmull_s8(vget_high_s8(x), vget_high_s8(y));
    return vpadalq_s16(vpadalq_s16(acc, p0), p1);
}
static RF__DOTPROD inline int32x4_t rf__arm_sdot16(int32x4_t acc, int8x16_t x, int8x16_t y) {
#if defined(__clang__) /* clang's arm_neon.h (14, 15) declares vdotq_s32 only when the whole file targets dotprod */
    __asm__("sdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(x), "w"(y));
    return acc;
#else
    return vdotq_s32(acc, x, y);
#endif
}

#define RF__ARM_Q0_DOT(name, target, dot16, wbytes, UNPACK, WSCALE)                  \
    static target double name(const void *w, const void *a, int64_t n) {              \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                \
        float32x4_t acc = vdupq_n_f32(0);                                              \
        int64_t i;                                                                     \
        for (i = 0; i < n / 32; i++, x += (wbytes), y += 34) {                         \
            int8x16_t x0, x1;                                                          \
            int32x4_t s = vdupq_n_s32(0);                                              \
            UNPACK;                                                                    \
            s = dot16(s, x0, vld1q_s8((const int8_t *)(y + 2)));                       \
            s = dot16(s, x1, vld1q_s8((const int8_t *)(y + 18)));                      \
            acc = vmlaq_n_f32(acc, vcvtq_f32_s32(s), (WSCALE) * rf__arm_h2f(y));       \
        }                                                                              \
        return vaddvq_f32(acc);                                                        \
    }

#define RF__ARM_UNPACK_Q4_0                                 \
    rf__arm_nibbles32(x + 2, &x0, &x1);                     \
    x0 = vsubq_s8(x0, vdupq_n_s8(8));                       \
    x1 = vsubq_s8(x1, vdupq_n_s8(8))
#define RF__ARM_UNPACK_Q8_0                 \
    x0 = vld1q_s8((const int8_t *)(x + 2)); \
    x1 = vld1q_s8((const int8_t *)(x + 18))

/* q5_0, 22 bytes: fp16 d, qh[4], qs[16]; codes minus 16 */
#define RF__ARM_UNPACK_Q5_0                                 \
    rf__arm_nibbles32(x + 6, &x0, &x1);                     \
    rf__arm_bit4_32(x + 2, &x0, &x1);                       \
    x0 = vsubq_s8(x0, vdupq_n_s8(16));                      \
    x1 = vsubq_s8(x1, vdupq_n_s8(16))
/* iq4_nl: each nibble indexes the 16 int8 values; one table lookup per 16 codes */
#define RF__ARM_UNPACK_IQ4_NL                                                       \
    rf__arm_nibbles32(x + 2, &x0, &x1);                                             \
    x0 = vqtbl1q_s8(vld1q_s8(rf__kvalues_iq4), vreinterpretq_u8_s8(x0));            \
    x1 = vqtbl1q_s8(vld1q_s8(rf__kvalues_iq4), vreinterpretq_u8_s8(x1))
/* mxfp4, 17 bytes: E8M0 exponent, qs[16] E2M1 nibbles as q4_0; the table holds 2x the E2M1
   values as int8, so the scale is half the E8M0 one (quant.c: rf__e8m0_half) */
#define RF__ARM_UNPACK_MXFP4                                                        \
    rf__arm_nibbles32(x + 1, &x0, &x1);                                             \
    x0 = vqtbl1q_s8(vld1q_s8(rf__kvalues_mxfp4), vreinterpretq_u8_s8(x0));          \
    x1 = vqtbl1q_s8(vld1q_s8(rf__kvalues_mxfp4), vreinterpretq_u8_s8(x1))

RF__ARM_Q0_DOT(rf__dot_q4_0_q8_0_neon, , rf__arm_dot16, 18, RF__ARM_UNPACK_Q4_0, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_q5_0_q8_0_neon, , rf__arm_dot16, 22, RF__ARM_UNPACK_Q5_0, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_q8_0_q8_0_neon, , rf__arm_dot16, 34, RF__ARM_UNPACK_Q8_0, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_iq4_nl_q8_0_neon, , rf__arm_dot16, 18, RF__ARM_UNPACK_IQ4_NL, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_mxfp4_q8_0_neon, , rf__arm_dot16, 17, RF__ARM_UNPACK_MXFP4, rf__e8m0_half(x[0]))
RF__ARM_Q0_DOT(rf__dot_q4_0_q8_0_sdot, RF__DOTPROD, rf__arm_sdot16, 18, RF__ARM_UNPACK_Q4_0, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_q5_0_q8_0_sdot, RF__DOTPROD, rf__arm_sdot16, 22, RF__ARM_UNPACK_Q5_0, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_q8_0_q8_0_sdot, RF__DOTPROD, rf__arm_sdot16, 34, RF__ARM_UNPACK_Q8_0, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_iq4_nl_q8_0_sdot, RF__DOTPROD, rf__arm_sdot16, 18, RF__ARM_UNPACK_IQ4_NL, rf__arm_h2f(x))
RF__ARM_Q0_DOT(rf__dot_mxfp4_q8_0_sdot, RF__DOTPROD, rf__arm_sdot16, 17, RF__ARM_UNPACK_MXFP4, rf__e8m0_half(x[0]))

/* Offset formats against q8_1 (36 bytes: fp16 d, fp16 s = d * sum(qs), qs at 4): sum(w a) =
   d_w d_a sum(q r) + m_w s_a (quant.c), so the offset is one scalar multiply-add per block. */
#define RF__ARM_Q1_DOT(name, target, dot16, wbytes, UNPACK)                           \
    static target double name(const void *w, const void *a, int64_t n) {              \
        const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;                \
        float32x4_t acc = vdupq_n_f32(0);                                              \
        float accm = 0;                                                                \
        int64_t i;                                                                     \
        for (i = 0; i < n / 32; i++, x += (wbytes), y += 36) {                         \
            int8x16_t x0, x1;                                                          \
            int32x4_t s = vdupq_n_s32(0);                                              \
            UNPACK;                                                                    \
            s = dot16(s, x0, vld1q_s8((const int8_t *)(y + 4)));                       \
            s = dot16(s, x1, vld1q_s8((const int8_t *)(y + 20)));                      \
            acc = vmlaq_n_f32(acc, vcvtq_f32_s32(s), rf__arm_h2f(x) * rf__arm_h2f(y)); \
            accm += rf__arm_h2f(x + 2) * rf__arm_h2f(y + 2);                           \
        }                                                                              \
        return vaddvq_f32(acc) + accm;                                                 \
    }

/* q4_1, 20 bytes: fp16 d, m, qs[16]; q5_1, 24 bytes: fp16 d, m, qh[4], qs[16]. Codes unsigned. */
#define RF__ARM_UNPACK_Q4_1 rf__arm_nibbles32(x + 4, &x0, &x1)
#define RF__ARM_UNPACK_Q5_1             \
    rf__arm_nibbles32(x + 8, &x0, &x1); \
    rf__arm_bit4_32(x + 4, &x0, &x1)

RF__ARM_Q1_DOT(rf__dot_q4_1_q8_1_neon, , rf__arm_dot16, 20, RF__ARM_UNPACK_Q4_1)
RF__ARM_Q1_DOT(rf__dot_q5_1_q8_1_neon, , rf__arm_dot16, 24, RF__ARM_UNPACK_Q5_1)
RF__ARM_Q1_DOT(rf__dot_q4_1_q8_1_sdot, RF__DOTPROD, rf__arm_sdot16, 20, RF__ARM_UNPACK_Q4_1)
RF__ARM_Q1_DOT(rf__dot_q5_1_q8_1_sdot, RF__DOTPROD, rf__arm_sdot16, 24, RF__ARM_UNPACK_Q5_1)

static double rf__dot_f32_f32_neon(const void *w, const void *a, int64_t n) {
    const float *x = (const float *)w, *y = (const float *)a;
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
    float tail = 0;
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(x + i), vld1q_f32(y + i));
        s1 = vfmaq_f32(s1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
    }
    for (; i < n; i++) { /* rows may be unaligned */
        float a0, b0;
        memcpy(&a0, x + i, 4);
        memcpy(&b0, y + i, 4);
        tail += a0 * b0;
    }
    return vaddvq_f32(vaddq_f32(s0, s1)) + tail;
}

/* f16 weights against f32 activations (types.c: vec_dot_type F32): vcvt widens 4 halves
   exactly, so only the float sum rounds. Byte loads: rows may be unaligned. */
static double rf__dot_f16_f32_neon(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
    float tail = 0;
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        const uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(x + 2 * i));
        s0 = vfmaq_f32(s0, vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h))), vreinterpretq_f32_u8(vld1q_u8(y + 4 * i)));
        s1 = vfmaq_f32(s1, vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(h))), vreinterpretq_f32_u8(vld1q_u8(y + 4 * i + 16)));
    }
    for (; i < n; i++) {
        float b0;
        memcpy(&b0, y + 4 * i, 4);
        tail += rf__arm_h2f(x + 2 * i) * b0;
    }
    return vaddvq_f32(vaddq_f32(s0, s1)) + tail;
}

/* bf16 weights against f32 activations: a bf16 is the top half of a binary32, so vshll by 16
   widens 4 of them exactly. Byte loads: rows may be unaligned. */
static double rf__dot_bf16_f32_neon(const void *w, const void *a, int64_t n) {
    const uint8_t *x = (const uint8_t *)w, *y = (const uint8_t *)a;
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
    float tail = 0;
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        const uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(x + 2 * i));
        s0 = vfmaq_f32(s0, vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)), vreinterpretq_f32_u8(vld1q_u8(y + 4 * i)));
        s1 = vfmaq_f32(s1, vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16)), vreinterpretq_f32_u8(vld1q_u8(y + 4 * i + 16)));
    }
    for (; i < n; i++) {
        uint16_t h;
        float b0;
        memcpy(&h, x + 2 * i, 2);
        memcpy(&b0, y + 4 * i, 4);
        tail += rf_bf16_to_fp32(h) * b0;
    }
    return vaddvq_f32(vaddq_f32(s0, s1)) + tail;
}

static void rf__kernels_neon_k(rf__kernels *k, int dotprod); /* simd_arm_k.c */

static void rf__kernels_neon(rf__kernels *k, int dotprod) {
    k->name = dotprod ? "neon-dotprod" : "neon";
    rf__kernels_neon_k(k, dotprod);
    k->dot[RF_TYPE_Q4_0] = dotprod ? rf__dot_q4_0_q8_0_sdot : rf__dot_q4_0_q8_0_neon;
    k->dot[RF_TYPE_Q5_0] = dotprod ? rf__dot_q5_0_q8_0_sdot : rf__dot_q5_0_q8_0_neon;
    k->dot[RF_TYPE_Q8_0] = dotprod ? rf__dot_q8_0_q8_0_sdot : rf__dot_q8_0_q8_0_neon;
    k->dot[RF_TYPE_IQ4_NL] = dotprod ? rf__dot_iq4_nl_q8_0_sdot : rf__dot_iq4_nl_q8_0_neon;
    k->dot[RF_TYPE_MXFP4] = dotprod ? rf__dot_mxfp4_q8_0_sdot : rf__dot_mxfp4_q8_0_neon;
    k->dot[RF_TYPE_Q4_1] = dotprod ? rf__dot_q4_1_q8_1_sdot : rf__dot_q4_1_q8_1_neon;
    k->dot[RF_TYPE_Q5_1] = dotprod ? rf__dot_q5_1_q8_1_sdot : rf__dot_q5_1_q8_1_neon;
    k->dot[RF_TYPE_F16] = rf__dot_f16_f32_neon;
    k->dot[RF_TYPE_BF16] = rf__dot_bf16_f32_neon;
    k->dot[RF_TYPE_F32] = rf__dot_f32_f32_neon;
    k->dot_f32 = rf__dot_f32_f32_neon;
}

static unsigned rf__arm_features(void) {
    unsigned f = RF__CPU_NEON;
#if defined(__linux__) && defined(AT_HWCAP)
    if (getauxval(AT_HWCAP) & (1ul << 20)) f |= RF__CPU_DOTPROD; /* HWCAP_ASIMDDP */
#endif
    return f;
}
#endif /* RF__SIMD_ARM */
