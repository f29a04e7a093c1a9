/* Portability: one HIP source for AMD and NVIDIA. Under hipcc, HIP itself. Under nvcc, the few
   hip* calls and intrinsics this backend uses, mapped onto the CUDA runtime (HIP's own NVIDIA
   headers do the same, but do not build with CUDA 13). Nothing else may call the runtime.

   Hardware facts are never literals:
     RF_WAVE      the wavefront width, from the target (device code only): 64 on CDNA/GCN,
                  32 on RDNA and NVIDIA. Host code reads hipDeviceProp_t::warpSize instead and
                  launches whole wavefronts; kernels derive lane and wave from RF_WAVE.
     LDS size, CU count: hipDeviceProp_t (sharedMemPerBlock, multiProcessorCount). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <new>
#include <chrono>

#if defined(__HIPCC__) || defined(__HIP_PLATFORM_AMD__)
#include <hip/hip_runtime.h>
#include <hip/hip_fp16.h>
#define RF_HIP_AMD 1
#define RF_SHFL_XOR(v, mask, width) __shfl_xor((v), (mask), (width))
#define RF_HIP_HOST_ALLOC(p, n) hipHostMalloc((p), (n), hipHostMallocDefault)
#define RF_GRAPH_INSTANTIATE(exec, graph) hipGraphInstantiate((exec), (graph), NULL, NULL, 0)
#elif defined(__CUDACC__)
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#define RF_HIP_AMD 0
typedef cudaError_t hipError_t;
typedef cudaStream_t hipStream_t;
typedef cudaEvent_t hipEvent_t;
typedef cudaDeviceProp hipDeviceProp_t;
#define hipSuccess cudaSuccess
#define hipErrorInvalidValue cudaErrorInvalidValue
#define hipErrorOutOfMemory cudaErrorMemoryAllocation
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipGetErrorString cudaGetErrorString
#define hipGetLastError cudaGetLastError
#define hipGetDeviceCount cudaGetDeviceCount
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipSetDevice cudaSetDevice
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipHostFree cudaFreeHost
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemsetAsync cudaMemsetAsync
#define hipFuncSetAttribute cudaFuncSetAttribute
#define hipFuncAttributeMaxDynamicSharedMemorySize cudaFuncAttributeMaxDynamicSharedMemorySize
#define hipMemGetInfo cudaMemGetInfo
#define hipStreamCreateWithFlags cudaStreamCreateWithFlags
#define hipStreamNonBlocking cudaStreamNonBlocking
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipEventCreateWithFlags cudaEventCreateWithFlags
#define hipEventDisableTiming cudaEventDisableTiming
#define hipEventDestroy cudaEventDestroy
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
typedef cudaGraph_t hipGraph_t;
typedef cudaGraphExec_t hipGraphExec_t;
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define hipStreamEndCapture cudaStreamEndCapture
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphExecDestroy cudaGraphExecDestroy
#define hipGraphDestroy cudaGraphDestroy
#define RF_SHFL_XOR(v, mask, width) __shfl_xor_sync(0xffffffffu, (v), (mask), (width))
#define RF_HIP_HOST_ALLOC(p, n) cudaMallocHost((p), (n))
#define RF_GRAPH_INSTANTIATE(exec, graph) cudaGraphInstantiate((exec), (graph), 0)
#else
#error "rocmforge_hip.h: compile the implementation with hipcc or nvcc"
#endif

/* The wavefront width the device code is compiled for. */
#if defined(__AMDGCN_WAVEFRONT_SIZE)
#define RF_WAVE __AMDGCN_WAVEFRONT_SIZE
#elif defined(__CUDACC__) && !RF_HIP_AMD
#define RF_WAVE warpSize
#else
#define RF_WAVE 64 /* host pass of hipcc: never used for launch math (that reads warpSize) */
#endif
/* The narrowest wavefront of any supported GPU: sizes per-lane register arrays (a head of
   RF_HEAD_DIM_MAX values spread over the lanes of one wave). */
#define RF_WAVE_MIN 32
#define RF_HEAD_DIM_MAX 256

/* RF_DP4A(a, b, c): c + the dot product of the four signed bytes of a and of b -- one
   instruction where the target has it (dp4a on NVIDIA sm_61+, v_dot4_i32_i8 on gfx906, CDNA and
   RDNA2+), four multiply-adds elsewhere. The int8 GEMV (kernels/gemv_q8.hip) is built on it. */
#if RF_HIP_AMD && (defined(__gfx906__) || defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || \
                   defined(__gfx941__) || defined(__gfx942__) || defined(__gfx1030__) || defined(__gfx1031__) || \
                   defined(__gfx1032__) || defined(__gfx1034__) || defined(__gfx1035__) || defined(__gfx1036__))
#define RF_DP4A(a, b, c) __builtin_amdgcn_sdot4((int)(a), (int)(b), (c), false)
#elif !RF_HIP_AMD && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 610
#define RF_DP4A(a, b, c) __dp4a((int)(a), (int)(b), (c))
#else
#define RF_DP4A(a, b, c) rf_dp4a_bytes((int)(a), (int)(b), (c))
#endif

/* Overlap of a kernel with the one before it in the stream (programmatic dependent launch: NVIDIA
   sm_90+, launched by rf_launch in kernels/host.hip; elsewhere both are nothing and the stream
   orders kernels as usual). RF_GRID_OPEN lets the next kernel's blocks start once every block of
   this one has; RF_GRID_WAIT blocks until the kernel before has finished and its writes are
   visible. A kernel launched by rf_launch calls RF_GRID_WAIT before it reads anything an earlier
   kernel wrote and before it writes anything: what comes before may only read the weights. */
#if !RF_HIP_AMD && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define RF_GRID_OPEN() asm volatile("griddepcontrol.launch_dependents;" ::: "memory")
#define RF_GRID_WAIT() asm volatile("griddepcontrol.wait;" ::: "memory")
#else
#define RF_GRID_OPEN() ((void)0)
#define RF_GRID_WAIT() ((void)0)
#endif

/* Waves per block for the kernels that use several: sized so a block is 256 threads on
   wave64 and wave32 alike (host side: 256 / warpSize). */
#define RF_BLOCK_THREADS 256
