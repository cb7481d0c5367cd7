/*
 * Epochs with the frozen-prefix activation cache: the parameters are bitwise those of the
 * same epochs without it (prefixes, batches that do and do not divide N, in order and
 * shuffled, GEMMs on the small and on the blocked path), the cached steps' executed FLOPs
 * equal the planned ones and leave out the prefix, a memory cap falls back to
 * recomputing, and the cache follows freeze schedules (unfreezing below it, freezing
 * above it).  An epoch run in parts (fz_epoch_opts.first_step, step_count), as a caller
 * evaluating mid-epoch does, trains bitwise as the epoch in one call.  Also the schedule
 * parser.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core_testutil.h"
#include "freezebench.h"

typedef struct {
    const size_t *widths;
    size_t n_widths, n, batch;
} shape;

static const size_t small_w[] = { 12, 24, 20, 16, 12, 4 };
static const size_t big_w[] = { 64, 256, 256, 128, 16 };

typedef struct {
    fz_model *m;
    fz_trainer *t;
    float *x, *y;
    size_t *order;
} run;

static run run_make(const shape *s, const char *freeze)
{
    run r = { .m = fz_mlp_create(s->widths, s->n_widths, 7) };
    assert_non_null(r.m);
    assert_int_equal(fz_freeze(r.m, freeze), FZ_OK);
    r.t = fz_trainer_create(r.m, s->batch, (fz_sgd){ .lr = 0.05f, .momentum = 0.9f,
                                                      .weight_decay = 1e-3f });
    assert_non_null(r.t);
    size_t in = s->widths[0], out = s->widths[s->n_widths - 1];
    r.x = malloc(s->n * in * sizeof(float));
    r.y = malloc(s->n * out * sizeof(float));
    r.order = malloc(s->n * sizeof(size_t));
    assert_true(r.x && r.y && r.order);
    fill_uniform(r.x, s->n * in, 11, -1.0f, 1.0f);
    fill_uniform(r.y, s->n * out, 12, -1.0f, 1.0f);
    return r;
}

static void run_free(run *r)
{
    fz_trainer_free(r->t);
    fz_model_free(r->m);
    free(r->x), free(r->y), free(r->order);
}

/* The order of epoch e: in order (NULL) or a fixed permutation per epoch. */
static const size_t *order_of(run *r, size_t n, bool shuffled, unsigned e)
{
    if (!shuffled)
        return NULL;
    for (size_t i = 0; i < n; i++)
        r->order[i] = i;
    uint64_t st = 0x9e3779b97f4a7c15ull * (e + 1);
    for (size_t i = n; i > 1; i--) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((st >> 33) % i), tmp = r->order[i - 1];
        r->order[i - 1] = r->order[j];
        r->order[j] = tmp;
    }
    return r->order;
}

static bool models_equal(fz_model *a, fz_model *b)
{
    return first_differing_param(a, b) == NULL;
}

/* `epochs` epochs on a plain and on a cached trainer; the schedule (may be NULL) applies
 * to both.  Checks bitwise equality after every epoch and FLOP accounting. */
static void compare(const shape *s, const char *freeze, const char *schedule, bool shuffled,
                    unsigned epochs, size_t cap, size_t *cached_steps)
{
    run a = run_make(s, freeze), b = run_make(s, freeze);
    fz_freeze_schedule *sch = schedule ? fz_freeze_schedule_parse(schedule) : NULL;
    assert_true(!schedule || sch);
    fz_epoch_opts plain = { 0 }, cached = { .cache_frozen = true, .cache_max_bytes = cap };
    *cached_steps = 0;
    for (unsigned e = 0; e < epochs; e++) {
        if (sch) {
            assert_int_equal(fz_freeze_schedule_apply(sch, a.m, e, NULL), FZ_OK);
            assert_int_equal(fz_freeze_schedule_apply(sch, b.m, e, NULL), FZ_OK);
        }
        fz_epoch_stats sa, sb;
        assert_int_equal(fz_epoch_run(a.t, a.x, a.y, s->n, order_of(&a, s->n, shuffled, e),
                                      &plain, &sa), FZ_OK);
        assert_int_equal(fz_epoch_run(b.t, b.x, b.y, s->n, order_of(&b, s->n, shuffled, e),
                                      &cached, &sb), FZ_OK);
        assert_int_equal(sa.steps, s->n / s->batch);
        assert_int_equal(sb.steps, s->n / s->batch);
        assert_int_equal(sa.cached_steps, 0);
        /* Each epoch's loss bitwise (the parameters are compared at the end: reading
         * them through fz_param_data marks them written, which drops the cache). */
        if (sa.loss != sb.loss)
            fail_msg("epoch %u: the loss differs with the cache (freeze %s, schedule %s, "
                     "batch %zu, n %zu, %s)", e, freeze, schedule ? schedule : "-", s->batch,
                     s->n, shuffled ? "shuffled" : "in order");
        /* Executed = planned, and the cached steps skip the prefix's forward. */
        assert_true(sb.executed.fwd == sb.planned.fwd);
        assert_true(sb.executed.bwd == sb.planned.bwd);
        assert_true(sb.planned.bwd == sa.planned.bwd);
        if (sb.cached_steps > 0)
            assert_true(sb.planned.fwd < sa.planned.fwd);
        else
            assert_true(sb.planned.fwd == sa.planned.fwd);
        *cached_steps += sb.cached_steps;
    }
    if (!models_equal(a.m, b.m))
        fail_msg("parameters differ with the cache (freeze %s, schedule %s, batch %zu, "
                 "n %zu, %s)", freeze, schedule ? schedule : "-", s->batch, s->n,
                 shuffled ? "shuffled" : "in order");
    fz_freeze_schedule_free(sch);
    run_free(&a);
    run_free(&b);
}

static void cache_is_bitwise_for_prefixes_batches_and_orders(void **state)
{
    (void)state;
    const char *prefixes[] = { "prefix:1", "prefix:2", "prefix:4", "fc1.*,fc2.weight" };
    size_t batches[] = { 20, 32, 7 };   /* 100 = 5·20; 32 and 7 leave a remainder */
    for (size_t p = 0; p < 4; p++)
        for (size_t bi = 0; bi < 3; bi++)
            for (int sh = 0; sh < 2; sh++) {
                shape s = { small_w, 6, 100, batches[bi] };
                size_t cs;
                compare(&s, prefixes[p], NULL, sh, 4, 0, &cs);
                if (!sh || s.n % s.batch == 0)   /* every later epoch runs from the cache */
                    assert_int_equal(cs, 3 * (s.n / s.batch));
                else
                    assert_true(cs > 0);
            }
}

static void cache_is_bitwise_on_the_blocked_gemm_path(void **state)
{
    (void)state;
    shape s = { big_w, 5, 200, 64 };
    size_t cs;
    compare(&s, "prefix:2", NULL, true, 3, 0, &cs);
    assert_true(cs > 0);
    compare(&s, "prefix:3", NULL, false, 3, 0, &cs);
    assert_int_equal(cs, 2 * 3);
}

static void memory_cap_falls_back_to_recomputing(void **state)
{
    (void)state;
    shape s = { small_w, 6, 100, 20 };
    size_t cs;
    compare(&s, "prefix:3", NULL, false, 3, 64, &cs);
    assert_int_equal(cs, 0);

    run r = run_make(&s, "prefix:3");
    fz_epoch_opts o = { .cache_frozen = true, .cache_max_bytes = 64 };
    fz_epoch_stats st;
    assert_int_equal(fz_epoch_run(r.t, r.x, r.y, s.n, NULL, &o, &st), FZ_OK);
    assert_true(st.cache_fallback);
    assert_non_null(strstr(st.note, "recomputing"));
    assert_int_equal(st.cache_bytes, 0);
    /* Room for it: input of fc4, 100 samples × 16 floats plus a byte each. */
    o.cache_max_bytes = 100 * 16 * 4 + 100;
    assert_int_equal(fz_epoch_run(r.t, r.x, r.y, s.n, NULL, &o, &st), FZ_OK);
    assert_false(st.cache_fallback);
    assert_int_equal(st.cache_layer, 3);   /* 0-based: fc4 */
    assert_int_equal(st.cache_bytes, o.cache_max_bytes);
    assert_int_equal(fz_epoch_run(r.t, r.x, r.y, s.n, NULL, &o, &st), FZ_OK);
    assert_int_equal(st.cached_steps, 5);
    run_free(&r);
}

static void cache_follows_schedules(void **state)
{
    (void)state;
    shape s = { small_w, 6, 100, 25 };
    size_t cs;
    /* Unfreezing below the cache drops it and rebuilds it lower; freezing more keeps it
     * as the start while the higher one fills. */
    compare(&s, "none", "0:prefix:4,2:prefix:2,4:none", false, 6, 0, &cs);
    assert_int_equal(cs, 4 + 4);
    compare(&s, "none", "0:prefix:1,2:prefix:4,4:prefix:2", true, 7, 0, &cs);
    assert_true(cs > 0);

    run r = run_make(&s, "none");
    fz_freeze_schedule *sch = fz_freeze_schedule_parse("0:prefix:4,2:prefix:2,3:none");
    assert_non_null(sch);
    assert_int_equal(fz_freeze_schedule_check(sch, r.m), FZ_OK);
    fz_epoch_opts o = { .cache_frozen = true };
    size_t want_layer[] = { 4, 4, 2, 0 };   /* 0-based: fc5, fc5, fc3, none */
    for (unsigned e = 0; e < 4; e++) {
        assert_int_equal(fz_freeze_schedule_apply(sch, r.m, e, NULL), FZ_OK);
        model_snapshot before = snapshot_take(r.m);
        fz_epoch_stats st;
        assert_int_equal(fz_epoch_run(r.t, r.x, r.y, s.n, NULL, &o, &st), FZ_OK);
        assert_int_equal(st.cache_layer, want_layer[e]);
        /* Frozen tensors are bit-identical while frozen. */
        for (size_t i = 0; i < fz_param_count(r.m); i++)
            if (!fz_requires_grad(r.m, fz_param_name(r.m, i)))
                assert_true(snapshot_tensor_same(&before, r.m, i));
        snapshot_free(&before);
    }
    fz_freeze_schedule_free(sch);
    run_free(&r);
}

/* Epochs in one call, with the cache, against the same epochs in three uneven parts (the
 * last one "to the end"), with the cache, under a schedule that moves the cache level up
 * and down: bitwise the same parameters, the same steps, cached steps and cache level at
 * each epoch's end, and the parts' losses averaging to the epoch's. */
static void epoch_in_parts_trains_as_one_call(void **state)
{
    (void)state;
    shape s = { small_w, 6, 110, 10 };   /* 11 steps: parts of 3, 5 and 3 */
    run a = run_make(&s, "none"), b = run_make(&s, "none");
    const char *text = "0:prefix:2,2:prefix:4,3:prefix:1";
    fz_freeze_schedule *sch = fz_freeze_schedule_parse(text);
    assert_non_null(sch);
    fz_epoch_opts whole = { .cache_frozen = true };
    const size_t first[] = { 0, 3, 8 }, count[] = { 3, 5, 0 };
    for (unsigned e = 0; e < 5; e++) {
        assert_int_equal(fz_freeze_schedule_apply(sch, a.m, e, NULL), FZ_OK);
        assert_int_equal(fz_freeze_schedule_apply(sch, b.m, e, NULL), FZ_OK);
        fz_epoch_stats sa, sb;
        assert_int_equal(fz_epoch_run(a.t, a.x, a.y, s.n, order_of(&a, s.n, true, e),
                                      &whole, &sa), FZ_OK);
        const size_t *ob = order_of(&b, s.n, true, e);
        size_t steps = 0, cached = 0;
        double loss = 0;
        for (int p = 0; p < 3; p++) {
            fz_epoch_opts part = { .cache_frozen = true, .first_step = first[p],
                                   .step_count = count[p] };
            assert_int_equal(fz_epoch_run(b.t, b.x, b.y, s.n, ob, &part, &sb), FZ_OK);
            assert_int_equal(sb.steps, p == 2 ? 3 : count[p]);
            steps += sb.steps;
            cached += sb.cached_steps;
            loss += sb.loss * (double)sb.steps;
        }
        assert_int_equal(steps, sa.steps);
        assert_int_equal(cached, sa.cached_steps);
        assert_int_equal(sb.cache_layer, sa.cache_layer);
        assert_int_equal(sb.cache_bytes, sa.cache_bytes);
        assert_true(fabs(loss / (double)steps - sa.loss) <= 1e-12 * fabs(sa.loss));
    }
    if (!models_equal(a.m, b.m))
        fail_msg("an epoch in parts trained differently from the epoch in one call");
    fz_freeze_schedule_free(sch);
    run_free(&a);
    run_free(&b);
}

static void schedules_parse_and_refuse(void **state)
{
    (void)state;
    size_t w[] = { 4, 5, 3 };
    fz_model *m = fz_mlp_create(w, 3, 1);
    fz_freeze_schedule *s = fz_freeze_schedule_parse("0:fc1.*,fc2.bias,3:none");
    assert_non_null(s);
    bool applied;
    assert_int_equal(fz_freeze_schedule_apply(s, m, 0, &applied), FZ_OK);
    assert_true(applied);
    assert_false(fz_requires_grad(m, "fc1.weight"));
    assert_false(fz_requires_grad(m, "fc2.bias"));
    assert_true(fz_requires_grad(m, "fc2.weight"));
    assert_int_equal(fz_freeze_schedule_apply(s, m, 1, &applied), FZ_OK);
    assert_false(applied);
    assert_int_equal(fz_freeze_schedule_apply(s, m, 3, &applied), FZ_OK);
    assert_int_equal(fz_trainable_elements(m), 4 * 5 + 5 + 5 * 3 + 3);
    fz_freeze_schedule_free(s);

    const char *bad[] = { "", "prefix:1", "0:", "2:none,1:none", "0:none,", "x:none" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(fz_freeze_schedule_parse(bad[i]));
        assert_true(strlen(fz_last_error()) > 0);
    }
    s = fz_freeze_schedule_parse("0:fc9.*");
    assert_non_null(s);
    assert_int_equal(fz_freeze_schedule_check(s, m), FZ_ENOTFOUND);
    assert_int_equal(fz_trainable_elements(m), 4 * 5 + 5 + 5 * 3 + 3);
    fz_freeze_schedule_free(s);
    fz_model_free(m);
}

static void epoch_refuses_bad_arguments(void **state)
{
    (void)state;
    shape s = { small_w, 6, 100, 20 };
    run r = run_make(&s, "none");
    size_t order[100] = { 0 };
    order[5] = 100;
    assert_int_equal(fz_epoch_run(r.t, r.x, r.y, 100, order, NULL, NULL), FZ_EINVAL);
    assert_int_equal(fz_epoch_run(r.t, r.x, r.y, 19, NULL, NULL, NULL), FZ_EINVAL);
    assert_int_equal(fz_epoch_run(r.t, NULL, r.y, 100, NULL, NULL, NULL), FZ_EINVAL);
    /* Parts outside the epoch's 5 steps: refused before any step, naming the part. */
    model_snapshot before = snapshot_take(r.m);
    const fz_epoch_opts parts[] = { { .first_step = 5 }, { .first_step = 2, .step_count = 4 },
                                    { .step_count = 6 }, { .first_step = SIZE_MAX },
                                    { .first_step = 1, .step_count = SIZE_MAX } };
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        assert_int_equal(fz_epoch_run(r.t, r.x, r.y, 100, NULL, &parts[i], NULL), FZ_EINVAL);
        assert_non_null(strstr(fz_last_error(), "first_step"));
    }
    for (size_t i = 0; i < fz_param_count(r.m); i++)
        assert_true(snapshot_tensor_same(&before, r.m, i));
    snapshot_free(&before);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_is_bitwise_for_prefixes_batches_and_orders),
        cmocka_unit_test(cache_is_bitwise_on_the_blocked_gemm_path),
        cmocka_unit_test(memory_cap_falls_back_to_recomputing),
        cmocka_unit_test(cache_follows_schedules),
        cmocka_unit_test(epoch_in_parts_trains_as_one_call),
        cmocka_unit_test(schedules_parse_and_refuse),
        cmocka_unit_test(epoch_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
