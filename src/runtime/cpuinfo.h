/*
 * Internal: reading Linux's /proc/cpuinfo, which names the CPU where nothing else does
 * (hwloc may be absent, Arm has no brand string in its registers).  The library's machine
 * report and the bench programs' system description read it through this one parser, so
 * both agree on what a line means.
 */
#ifndef FZ_CPUINFO_H
#define FZ_CPUINFO_H

#include <stdbool.h>
#include <stddef.h>

/* The value of the first "key : value" line of /proc/cpuinfo whose key is exactly one of
 * `keys` (a NULL-terminated list; the file's order decides between them), without the
 * blanks around it, truncated to cap - 1 bytes.  Lines with an empty value are passed
 * over.  False, with out untouched, when no line has a value or the file cannot be read
 * (another OS, a sandbox without /proc). */
bool cpuinfo_value(const char *const keys[], char *out, size_t cap);

#endif /* FZ_CPUINFO_H */
