/*
 * Microarchitecture names from the CPU's own identification: CPUID's vendor, family and
 * model on x86, MIDR's implementer and part on Arm.  The brand string cannot tell CPUs
 * apart on cloud VMs ("AMD EPYC" for a Zen 4 and a Zen 5 alike), and the two differ by
 * 2× in FMA peak per core, so results are keyed on these names instead.
 *
 * The one table of record: the library's per-CPU tuning (cpu.c) and the bench's system
 * description (bench/machine/cpu_ident.c) both name CPUs through it, so a tuned rule and
 * the CSV's uarch column cannot disagree about which CPU is which.
 *
 * Pure functions over recorded numbers, so the table is unit-tested without the CPU.
 */
#ifndef FZ_SIMD_UARCH_H
#define FZ_SIMD_UARCH_H

/* x86: `vendor` is CPUID leaf 0's 12-character string ("GenuineIntel", "AuthenticAMD"),
 * family and model the display values (extended fields folded in, as Linux prints them
 * in /proc/cpuinfo).  Stepping separates Intel's Skylake-SP, Cascade Lake and Cooper
 * Lake, which share a model number.  NULL where the table has no entry. */
const char *cpu_x86_uarch(const char *vendor, unsigned family, unsigned model,
                          unsigned stepping);

/* Arm: MIDR_EL1's implementer (bits 31:24) and primary part number (bits 15:4).  NULL
 * where the table has no entry. */
const char *cpu_arm_uarch(unsigned implementer, unsigned part);

/* The vendor's short name: "intel", "amd", "arm", "ampere", ...; `vendor` as above for
 * x86 (implementer is ignored), or NULL with an Arm implementer code. */
const char *cpu_x86_vendor_short(const char *vendor);
const char *cpu_arm_vendor_short(unsigned implementer);

/* CPUID leaf 0's 12-character vendor string ("AuthenticAMD") from its EBX, EDX and ECX,
 * in that order, into out (NUL-terminated). */
void cpu_x86_vendor(unsigned ebx, unsigned edx, unsigned ecx, char out[13]);

/* Decodes CPUID leaf 1 EAX into display family, model and stepping (Intel SDM 3.A:
 * the extended family adds to family 15; the extended model extends families 6 and 15,
 * and AMD's extended families, which are all above 15). */
void cpu_x86_signature(unsigned eax, unsigned *family, unsigned *model, unsigned *stepping);

#endif
