/*
 * The AVX2 table: the element-wise kernels of elementwise_tmpl.h over 8-float vectors
 * (elementwise_x86.h), and the GEMM through the shared loop nest with the 6×16
 * microkernel.
 */
#include "kernels.h"
#include "cpu.h"
#include "gemm.h"

#define ISA_NAME(kernel) kernel##_avx2
#define X86_VEC_BITS 256
#include "elementwise_x86.h"

FZ_ISA_TABLE(avx2, fz_sgemm_avx2_6x16);
