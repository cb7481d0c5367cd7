/* The thread plan: a pure function of a topology and a thread count (see schedule.h). */
#include <stdio.h>
#include <string.h>

#include "schedule.h"

int schedule_default_threads(const fz_topo *t, bool smt)
{
    int n = 0;
    for (int p = 0; p < t->n_pus; p++)
        n += t->pu[p].kind == 0 && (smt || t->pu[p].smt_rank == 0);
    n = n > 0 ? n : 1;
    return n < FZ_MAX_THREADS ? n : FZ_MAX_THREADS;
}

/* The order in which PUs are handed out.  Without SMT: first PUs of cores, best kind
 * first, siblings last; with SMT: every PU of the best kind, spread over cores first. */
static bool comes_before(const fz_topo_pu *a, const fz_topo_pu *b, bool smt)
{
    int ka[4] = { smt ? 0 : a->smt_rank > 0, a->kind, a->smt_rank, a->core };
    int kb[4] = { smt ? 0 : b->smt_rank > 0, b->kind, b->smt_rank, b->core };
    for (int i = 0; i < 4; i++)
        if (ka[i] != kb[i])
            return ka[i] < kb[i];
    return false;
}

static void hand_out_order(const fz_topo *t, bool smt, int *order)
{
    for (int i = 0; i < t->n_pus; i++) {   /* insertion sort: stable, runs once */
        int j = i;
        while (j > 0 && comes_before(&t->pu[i], &t->pu[order[j - 1]], smt)) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

/* Tries to place n threads on the first `eligible` PUs of `order`, spread evenly over as
 * many groups as possible.  Fills out->pu and out->groups; false if no even split fits. */
static bool place_evenly(const fz_topo *t, const int *order, int eligible, int n,
                         fz_schedule *out)
{
    int count[FZ_TOPO_MAX_PUS], by_count[FZ_TOPO_MAX_PUS];
    int used = 0;
    memset(count, 0, sizeof(int) * (size_t)t->n_groups);
    for (int i = 0; i < eligible; i++)
        count[t->pu[order[i]].group]++;
    for (int g = 0; g < t->n_groups; g++) {   /* groups by eligible PUs, most first */
        if (!count[g])
            continue;
        int j = used++;
        while (j > 0 && count[by_count[j - 1]] < count[g]) {
            by_count[j] = by_count[j - 1];
            j--;
        }
        by_count[j] = g;
    }
    for (int g = n < used ? n : used; g >= 1; g--) {
        if (n % g || count[by_count[g - 1]] < n / g)
            continue;
        /* The chosen groups in their own order, so thread numbers follow the machine. */
        int chosen[FZ_MAX_THREADS], per = n / g, k = 0;
        for (int grp = 0; grp < t->n_groups; grp++)
            for (int c = 0; c < g; c++)
                if (by_count[c] == grp)
                    chosen[k++] = grp;
        for (int c = 0; c < g; c++) {
            int taken = 0;
            for (int i = 0; i < eligible && taken < per; i++)
                if (t->pu[order[i]].group == chosen[c])
                    out->pu[c * per + taken++] = order[i];
        }
        out->groups = g;
        return true;
    }
    return false;
}

void schedule_plan(const fz_topo *t, int requested, bool smt, fz_schedule *out)
{
    memset(out, 0, sizeof *out);
    int n = requested > 0 ? requested : schedule_default_threads(t, smt);
    if (n > FZ_MAX_THREADS) {
        snprintf(out->note, sizeof out->note, "%d threads asked for, %d is the most", n,
                 FZ_MAX_THREADS);
        n = FZ_MAX_THREADS;
    }
    out->threads = n;

    int order[FZ_TOPO_MAX_PUS];
    hand_out_order(t, smt, order);
    /* Tiers: prefixes of the order, from the PUs we would rather use to all of them. */
    int tiers[3], n_tiers = 0, best = 0, first = 0;
    for (int p = 0; p < t->n_pus; p++) {
        best += t->pu[p].kind == 0 && (smt || t->pu[p].smt_rank == 0);
        first += t->pu[p].smt_rank == 0;
    }
    tiers[n_tiers++] = best;
    if (!smt)
        tiers[n_tiers++] = first;
    tiers[n_tiers++] = t->n_pus;

    bool placed = false;
    for (int i = 0; i < n_tiers && !placed; i++)
        placed = place_evenly(t, order, tiers[i], n, out);
    if (!placed) {   /* one group over the machine, wrapping round when oversubscribed */
        out->groups = 1;
        for (int th = 0; th < n; th++)
            out->pu[th] = order[th % t->n_pus];
    }

    int threads_on_core[FZ_TOPO_MAX_PUS];
    memset(threads_on_core, 0, sizeof(int) * (size_t)t->n_pus);
    for (int th = 0; th < n; th++) {
        const fz_topo_pu *p = &t->pu[out->pu[th]];
        out->os_index[th] = p->os_index;
        out->smt_siblings_used |= ++threads_on_core[p->core] > 1;
    }
    out->oversubscribed = n > t->n_pus;
    if (!out->note[0] && out->oversubscribed)
        snprintf(out->note, sizeof out->note, "%d threads on %d PUs: oversubscribed, "
                 "threads share PUs", n, t->n_pus);
    else if (!out->note[0] && out->smt_siblings_used && !smt)
        snprintf(out->note, sizeof out->note, "%d threads on %d cores: SMT siblings share "
                 "cores", n, t->n_cores);
}
