/* The machines we do not have, as hwloc synthetic descriptions (tests/topologies/ holds
 * the same machines as XML, plus the big.LITTLE phone that synthetic syntax cannot
 * describe: its two clusters differ). */
#ifndef FZ_TEST_TOPOLOGIES_H
#define FZ_TEST_TOPOLOGIES_H

/* Two sockets of 16 cores with SMT, one L3 and one NUMA node per socket. */
#define SERVER_2S "pack:2 [numa(memory=64GiB)] l3:1(size=32MiB) core:16 l2:1(size=1MiB) " \
                  "l1d:1(size=48KiB) pu:2"
/* A 64-core EPYC: 8 CCX of 8 cores, each CCX with its own 32 MiB L3. */
#define EPYC_8CCX "pack:1 [numa(memory=256GiB)] l3:8(size=32MiB) core:8 l2:1(size=512KiB) " \
                  "l1d:1(size=32KiB) pu:2"

#endif
