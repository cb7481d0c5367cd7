/* The machine report: what the topology says and how the team uses it. */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "kernels_active.h"
#include "team.h"

fz_status fz_machine_get(fz_machine *out)
{
    if (!out)
        return set_error(FZ_EINVAL, "fz_machine_get: out is NULL");
    const fz_team_config *c = team_get();
    const fz_topo *t = team_topology();
    memset(out, 0, sizeof *out);
    snprintf(out->cpu_model, sizeof out->cpu_model, "%s", t->cpu_model[0] ? t->cpu_model : "unknown");
    snprintf(out->arch, sizeof out->arch, "%s", t->arch[0] ? t->arch : "unknown");
    snprintf(out->isa, sizeof out->isa, "%s", fz_isa());
    out->packages = t->n_packages;
    out->numa_nodes = t->n_numa;
    out->l3_groups = t->has_l3 ? t->n_groups : 0;
    out->cores = t->n_cores;
    out->pus = t->n_pus;
    out->l1d = t->l1d;
    out->l2 = t->l2;
    out->l3 = t->l3;
    out->threads = c->threads;
    out->groups = c->groups;
    /* The blocking the GEMM in use derives for its tile (products whose C spills half
     * the L2 deepen KC: sgemm_blocking_for); the scalar reference has none. */
    const fz_sgemm_kernel *kern = kernels_get()->microkernel;
    if (kern) {
        fz_gemm_ctx ctx = team_gemm_ctx();
        fz_blocking b = sgemm_blocking(kern, &ctx);
        out->kc = b.kc;
        out->mc = b.mc;
        out->nc = b.nc;
    }
    out->smt = c->smt;
    out->bound = c->bound_pu != NULL;
    snprintf(out->topology, sizeof out->topology, "%s", t->source);
    snprintf(out->team_note, sizeof out->team_note, "%s", team_schedule()->note);
    return FZ_OK;
}

static const char *bytes_text(size_t b, char *buf, size_t cap)
{
    if (!b)
        snprintf(buf, cap, "not reported");
    else if (b % (1u << 20) == 0)
        snprintf(buf, cap, "%zu MiB", b >> 20);
    else if (b % (1u << 10) == 0)
        snprintf(buf, cap, "%zu KiB", b >> 10);
    else
        snprintf(buf, cap, "%zu B", b);
    return buf;
}

void fz_machine_print(FILE *f)
{
    if (!f)
        return;
    fz_machine m;
    fz_machine_get(&m);
    const fz_topo *t = team_topology();
    const fz_schedule *s = team_schedule();
    char a[32], b[32], c[32];
    fprintf(f, "machine   %s (%s), kernels %s; topology from %s\n", m.cpu_model, m.arch,
            m.isa, m.topology);
    const char *group = t->fallback ? "group" : t->has_l3 ? "L3 group" : "package group";
    fprintf(f, "          %d package%s, %d NUMA node%s, %d %s%s, %d core%s, %d PU%s%s%s\n",
            m.packages, m.packages == 1 ? "" : "s", m.numa_nodes, m.numa_nodes == 1 ? "" : "s",
            t->n_groups, group, t->n_groups == 1 ? "" : "s", m.cores, m.cores == 1 ? "" : "s",
            m.pus, m.pus == 1 ? "" : "s", t->fallback ? " (CPUs counted as cores)" : "",
            t->n_kinds > 1 ? ", cores of different kinds (big.LITTLE)" : "");
    char share[48] = "";
    if (t->l2_per_core && t->l2_per_core != t->l2)
        snprintf(share, sizeof share, " (%s per core)", bytes_text(t->l2_per_core, c, sizeof c));
    fprintf(f, "caches    L1d %s, L2 %s%s, ", bytes_text(m.l1d, a, sizeof a),
            bytes_text(m.l2, b, sizeof b), share);
    fprintf(f, "L3 %s%s\n", bytes_text(m.l3, c, sizeof c),
            m.l1d && m.l2 ? "" : " (defaults used where not reported)");
    fprintf(f, "team      %d thread%s in %d group%s (groups split N, threads of a group split "
            "M), SMT %s, %s\n", m.threads, m.threads == 1 ? "" : "s", m.groups,
            m.groups == 1 ? "" : "s", m.smt ? "on" : "off",
            m.bound ? "each bound to its PU" : "not bound");
    fprintf(f, "          thread:core/PU");
    for (int th = 0; th < s->threads && th < 16; th++) {
        if (s->os_index[th] >= 0)
            fprintf(f, " %d:%d/%d", th, t->pu[s->pu[th]].core, s->os_index[th]);
        else
            fprintf(f, " %d:%d/?", th, t->pu[s->pu[th]].core);
    }
    fprintf(f, "%s\n", s->threads > 16 ? " ..." : "");
    if (s->note[0])
        fprintf(f, "          note: %s\n", s->note);
    const fz_sgemm_kernel *kern = kernels_get()->microkernel;
    if (kern)
        fprintf(f, "blocking  KC %zu, MC %zu, NC %zu for the %zux%zu microkernel\n", m.kc,
                m.mc, m.nc, kern->mr, kern->nr);
    else
        fprintf(f, "blocking  none: the scalar kernels do not block\n");
}
