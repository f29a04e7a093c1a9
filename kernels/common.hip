/* Device helpers every kernel shares: wave and block reductions (one code path for wave64 and
   wave32: the width is a parameter), unaligned little-endian loads (GGUF blocks are packed, an
   18-byte q4_0 block is only 2-byte aligned), and fp16/bf16 bit conversions that round exactly
   like the CPU reference (rf_fp32_to_fp16 in src/quant.c). */

template <typename T> __device__ __forceinline__ T rf_wave_sum(T v, int width) {
    for (int m = width / 2; m > 0; m >>= 1) v += RF_SHFL_XOR(v, m, width);
    return v;
}
template <typename T> __device__ __forceinline__ T rf_wave_max(T v, int width) {
    for (int m = width / 2; m > 0; m >>= 1) {
        T o = RF_SHFL_XOR(v, m, width);
        v = o > v ? o : v;
    }
    return v;
}

/* Sum over the block; every thread gets the result. scratch: one T per wave (blockDim / wave). */
template <typename T> __device__ T rf_block_sum(T v, T *scratch) {
    const int lane = threadIdx.x % RF_WAVE, wave = threadIdx.x / RF_WAVE, nw = blockDim.x / RF_WAVE;
    v = rf_wave_sum(v, RF_WAVE);
    __syncthreads(); /* scratch may still be read by a previous call */
    if (lane == 0) scratch[wave] = v;
    __syncthreads();
    v = 0;
    for (int w = 0; w < nw; w++) v += scratch[w];
    return v;
}

/* Max over the block, the same way. */
template <typename T> __device__ T rf_block_max(T v, T *scratch) {
    const int lane = threadIdx.x % RF_WAVE, wave = threadIdx.x / RF_WAVE, nw = blockDim.x / RF_WAVE;
    v = rf_wave_max(v, RF_WAVE);
    __syncthreads();
    if (lane == 0) scratch[wave] = v;
    __syncthreads();
    v = scratch[0];
    for (int w = 1; w < nw; w++) v = scratch[w] > v ? scratch[w] : v;
    return v;
}

__device__ __forceinline__ uint32_t rf_ld16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }
__device__ __forceinline__ uint32_t rf_ld32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

__device__ __forceinline__ float rf_h2f(uint32_t h) {
    uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 31, m = h & 0x3ffu, bits;
    if (e == 31) bits = sign | 0x7f800000u | (m << 13);
    else if (e) bits = sign | ((e + 112) << 23) | (m << 13);
    else if (!m) bits = sign;
    else { /* subnormal: normalize */
        e = 113;
        while (!(m & 0x400u)) { m <<= 1; e--; }
        bits = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
    return __uint_as_float(bits);
}
/* The two f16 of a 32-bit word, by the hardware's conversion: one instruction, exact as rf_h2f is
   for every finite value (what weights and the KV cache hold). */
__device__ __forceinline__ float rf_h2f_lo(uint32_t w) { return __half2float(__ushort_as_half((unsigned short)(w & 0xffffu))); }
__device__ __forceinline__ float rf_h2f_hi(uint32_t w) { return __half2float(__ushort_as_half((unsigned short)(w >> 16))); }
__device__ __forceinline__ float rf_bf2f(uint32_t h) { return __uint_as_float(h << 16); }

/* RMSNorm's 1 / rms from a row's sum of squares ss over n values: rf_rmsnorm_kernel's,
   rf_act_q8_kernel's and the fused GEMVs' (rf_rms_scale) one formula. */
__device__ __forceinline__ float rf_rms_inv(double ss, int64_t n, float eps) { return (float)(1.0 / sqrt(ss / (double)n + eps)); }

/* fp32 -> fp16 bits, round to nearest even: the same integer recipe as rf_fp32_to_fp16. */
__device__ __forceinline__ uint16_t rf_f2h(float f) {
    uint32_t x = __float_as_uint(f), ax = x & 0x7fffffffu;
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) {
        uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);
        return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
    }
    if (ax <= 0x33000000u) return sign;
    {
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u, shift = 126 - e;
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
}

/* Grid-stride loops: enough blocks to fill the CUs, from the device's own count. */
#define RF_GRID_STRIDE(i, n) for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* RF_DP4A's portable form (kernels/port.hip): the four signed byte products, summed into c. */
__device__ __forceinline__ int rf_dp4a_bytes(int a, int b, int c) {
    for (int i = 0; i < 32; i += 8) c += (int)(int8_t)(a >> i) * (int)(int8_t)(b >> i);
    return c;
}
