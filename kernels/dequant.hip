/* Dequantize 32 consecutive weights of a row: chunk c is elements [32c, 32c + 32). Every quant
   type's block holds 32 or 256 weights, so a chunk is a whole 32-block or one eighth of a
   256-super-block; plain types (F32 F16 BF16) zero-fill past ne0, so odd row lengths work.
   The formulas are src/quant.c and src/quant_k.c's (gguf-py's order), element by element:
   the scalar CPU code is the reference these are tested against (tests/gpu/test_gpu_ops.c). */

enum {
    RF_T_F32 = 0, RF_T_F16 = 1, RF_T_Q4_0 = 2, RF_T_Q4_1 = 3, RF_T_Q5_0 = 6, RF_T_Q5_1 = 7, RF_T_Q8_0 = 8,
    RF_T_Q2_K = 10, RF_T_Q3_K = 11, RF_T_Q4_K = 12, RF_T_Q5_K = 13, RF_T_Q6_K = 14, RF_T_IQ4_NL = 20,
    RF_T_IQ4_XS = 23, RF_T_BF16 = 30, RF_T_MXFP4 = 39
};

__device__ __forceinline__ int rf_kv_iq4(int q) {
    const int8_t t[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    return t[q];
}
__device__ __forceinline__ int rf_kv_mxfp4(int q) {
    const int8_t t[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    return t[q];
}
__device__ __forceinline__ int rf_nib32(const uint8_t *qs, int j) { return j < 16 ? qs[j] & 15 : qs[j - 16] >> 4; }
__device__ __forceinline__ void rf_scale_min_k4(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

template <int T> __device__ __forceinline__ void rf_dq32(const uint8_t *row, int64_t c, int64_t ne0, float *o) {
    if (T == RF_T_F32 || T == RF_T_F16 || T == RF_T_BF16) {
        for (int j = 0; j < 32; j++) {
            int64_t i = 32 * c + j;
            float v = 0.0f;
            if (i < ne0) {
                if (T == RF_T_F32) v = __uint_as_float(rf_ld32(row + 4 * i));
                else if (T == RF_T_F16) v = rf_h2f(rf_ld16(row + 2 * i));
                else v = rf_bf2f(rf_ld16(row + 2 * i));
            }
            o[j] = v;
        }
    } else if (T == RF_T_Q4_0 || T == RF_T_IQ4_NL) { /* 18 bytes: d, qs[16] */
        const uint8_t *b = row + 18 * c;
        float d = rf_h2f(rf_ld16(b));
        for (int j = 0; j < 32; j++) o[j] = T == RF_T_Q4_0 ? d * (float)(rf_nib32(b + 2, j) - 8) : d * (float)rf_kv_iq4(rf_nib32(b + 2, j));
    } else if (T == RF_T_Q4_1) { /* 20 bytes: d, m, qs[16] */
        const uint8_t *b = row + 20 * c;
        float d = rf_h2f(rf_ld16(b)), m = rf_h2f(rf_ld16(b + 2));
        for (int j = 0; j < 32; j++) o[j] = d * (float)rf_nib32(b + 4, j) + m;
    } else if (T == RF_T_Q5_0) { /* 22 bytes: d, qh[4], qs[16] */
        const uint8_t *b = row + 22 * c;
        float d = rf_h2f(rf_ld16(b));
        uint32_t qh = rf_ld32(b + 2);
        for (int j = 0; j < 32; j++) o[j] = d * (float)((rf_nib32(b + 6, j) | (int)(((qh >> j) & 1u) << 4)) - 16);
    } else if (T == RF_T_Q5_1) { /* 24 bytes: d, m, qh[4], qs[16] */
        const uint8_t *b = row + 24 * c;
        float d = rf_h2f(rf_ld16(b)), m = rf_h2f(rf_ld16(b + 2));
        uint32_t qh = rf_ld32(b + 4);
        for (int j = 0; j < 32; j++) o[j] = d * (float)(rf_nib32(b + 8, j) | (int)(((qh >> j) & 1u) << 4)) + m;
    } else if (T == RF_T_Q8_0) { /* 34 bytes: d, int8 qs[32] */
        const uint8_t *b = row + 34 * c;
        float d = rf_h2f(rf_ld16(b));
        for (int j = 0; j < 32; j++) o[j] = (float)(int8_t)b[2 + j] * d;
    } else if (T == RF_T_MXFP4) { /* 17 bytes: e, qs[16]; 2^(e-128) * doubled E2M1 */
        const uint8_t *b = row + 17 * c;
        uint32_t e = b[0];
        float d = __uint_as_float(e < 2 ? 0x00200000u << e : (e - 1) << 23);
        for (int j = 0; j < 32; j++) o[j] = d * (float)rf_kv_mxfp4(rf_nib32(b + 1, j));
    } else if (T == RF_T_Q2_K) { /* 84 bytes: scales[16], qs[64], d, dmin */
        const uint8_t *b = row + 84 * (c / 8);
        const int s = (int)(c % 8);
        float d = rf_h2f(rf_ld16(b + 80)), dmin = rf_h2f(rf_ld16(b + 82));
        for (int j = 0; j < 32; j++) {
            int e = 32 * s + j, sc = b[e / 16];
            int q = (b[16 + 32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
            o[j] = d * (float)(sc & 15) * (float)q - dmin * (float)(sc >> 4);
        }
    } else if (T == RF_T_Q3_K) { /* 110 bytes: hmask[32], qs[64], scales[12], d */
        const uint8_t *b = row + 110 * (c / 8);
        const int s = (int)(c % 8);
        float d = rf_h2f(rf_ld16(b + 108));
        const uint8_t *sc = b + 96;
        for (int j = 0; j < 32; j++) {
            int e = 32 * s + j, k = e / 16;
            int lo = k < 8 ? sc[k] & 15 : sc[k - 8] >> 4, hi = (sc[8 + k % 4] >> (2 * (k / 4))) & 3;
            int q = ((b[32 + 32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3) - (((b[e % 32] >> (e / 32)) & 1) ? 0 : 4);
            o[j] = d * (float)((lo | (hi << 4)) - 32) * (float)q;
        }
    } else if (T == RF_T_Q4_K || T == RF_T_Q5_K) { /* 144: d, dmin, scales[12], qs[128]; 176: + qh[32] */
        const int bs = T == RF_T_Q4_K ? 144 : 176;
        const uint8_t *b = row + bs * (c / 8);
        const int s = (int)(c % 8);
        const uint8_t *qs = b + (T == RF_T_Q4_K ? 16 : 48);
        float d = rf_h2f(rf_ld16(b)), dmin = rf_h2f(rf_ld16(b + 2));
        int sc, m;
        rf_scale_min_k4(b + 4, s, &sc, &m);
        for (int j = 0; j < 32; j++) {
            int e = 32 * s + j;
            int q = (qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 15;
            if (T == RF_T_Q5_K) q |= ((b[16 + e % 32] >> (e / 32)) & 1) << 4;
            o[j] = d * (float)sc * (float)q - dmin * (float)m;
        }
    } else if (T == RF_T_Q6_K) { /* 210 bytes: ql[128], qh[64], int8 scales[16], d */
        const uint8_t *b = row + 210 * (c / 8);
        const int s = (int)(c % 8);
        float d = rf_h2f(rf_ld16(b + 208));
        for (int j = 0; j < 32; j++) {
            int e = 32 * s + j, h = e / 128, r = e % 128;
            int lo = (b[64 * h + r % 64] >> (4 * (r / 64))) & 15, hi = (b[128 + 32 * h + r % 32] >> (2 * (r / 32))) & 3;
            o[j] = d * (float)(int8_t)b[192 + e / 16] * (float)((lo | (hi << 4)) - 32);
        }
    } else if (T == RF_T_IQ4_XS) { /* 136 bytes: d, scales_h, scales_l[4], qs[128] */
        const uint8_t *b = row + 136 * (c / 8);
        const int s = (int)(c % 8);
        float d = rf_h2f(rf_ld16(b));
        uint32_t sh = rf_ld16(b + 2);
        int ls = (((b[4 + s / 2] >> (4 * (s % 2))) & 15) | (((sh >> (2 * s)) & 3) << 4)) - 32;
        for (int j = 0; j < 32; j++) o[j] = d * (float)ls * (float)rf_kv_iq4(rf_nib32(b + 8 + 16 * s, j));
    }
}

/* The chunk count of a row: 32-element chunks, the last one partial for plain types. */
__host__ __device__ __forceinline__ int64_t rf_n_chunks(int64_t ne0) { return (ne0 + 31) / 32; }
