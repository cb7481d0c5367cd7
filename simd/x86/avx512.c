/*
 * The AVX-512 table: the element-wise kernels of elementwise_tmpl.h over 16-float
 * vectors with opmask tails (elementwise_x86.h), and the GEMM through the shared loop
 * nest with the AVX-512 microkernel.
 */
#include "kernels.h"
#include "cpu.h"
#include "gemm.h"

#define ISA_NAME(kernel) kernel##_avx512
#define X86_VEC_BITS 512
#include "elementwise_x86.h"

FZ_ISA_TABLE(avx512, fz_sgemm_avx512);
