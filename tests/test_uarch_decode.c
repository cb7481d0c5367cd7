/* The microarchitecture table, on CPUID and MIDR values recorded on real CPUs: the names
 * are what tells a Zen 4 from a Zen 5 when both call themselves "AMD EPYC". */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpu.h"
#include "uarch.h"

static void assert_x86(unsigned eax, const char *vendor, const char *want)
{
    unsigned family, model, stepping;
    cpu_x86_signature(eax, &family, &model, &stepping);
    const char *got = cpu_x86_uarch(vendor, family, model, stepping);
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
}

static void signature_folds_extended_family_and_model(void **state)
{
    (void)state;
    unsigned family, model, stepping;
    cpu_x86_signature(0x00a10f11, &family, &model, &stepping);   /* EPYC 9004 (Genoa) */
    assert_int_equal(family, 0x19);
    assert_int_equal(model, 0x11);
    assert_int_equal(stepping, 1);
    cpu_x86_signature(0x000c06f2, &family, &model, &stepping);   /* Xeon 5th gen */
    assert_int_equal(family, 6);
    assert_int_equal(model, 0xcf);
    assert_int_equal(stepping, 2);
    /* Base family below 6 or 15: the extended model is not part of the model. */
    cpu_x86_signature(0x00010523, &family, &model, &stepping);
    assert_int_equal(family, 5);
    assert_int_equal(model, 2);
}

static void amd_server_cores_are_told_apart(void **state)
{
    (void)state;
    assert_x86(0x00a00f11, "AuthenticAMD", "Zen 3");    /* EPYC 7003 Milan */
    assert_x86(0x00a10f11, "AuthenticAMD", "Zen 4");    /* EPYC 9004 Genoa: f19 m11 */
    assert_x86(0x00aa0f01, "AuthenticAMD", "Zen 4c");   /* EPYC 9004 Bergamo */
    assert_x86(0x00b00f21, "AuthenticAMD", "Zen 5");    /* EPYC 9005 Turin: f1a m02 */
    assert_x86(0x00b10f10, "AuthenticAMD", "Zen 5");    /* Turin dense: f1a m11 */
    assert_x86(0x00830f10, "AuthenticAMD", "Zen 2");    /* EPYC 7002 Rome: f17 m31 */
    assert_x86(0x00800f12, "AuthenticAMD", "Zen");      /* EPYC 7001 Naples: f17 m01 */
}

static void intel_server_cores_are_told_apart(void **state)
{
    (void)state;
    assert_x86(0x00050654, "GenuineIntel", "Skylake-SP");
    assert_x86(0x00050657, "GenuineIntel", "Cascade Lake");
    assert_x86(0x0005065b, "GenuineIntel", "Cooper Lake");
    assert_x86(0x000606a6, "GenuineIntel", "Ice Lake-SP");
    assert_x86(0x000806f8, "GenuineIntel", "Sapphire Rapids");
    assert_x86(0x000c06f2, "GenuineIntel", "Emerald Rapids");
    assert_x86(0x000a06d1, "GenuineIntel", "Granite Rapids");
    assert_x86(0x000a06f3, "GenuineIntel", "Sierra Forest");
}

static void unknown_x86_models_have_no_name(void **state)
{
    (void)state;
    assert_x86(0x000c06f2, "AuthenticAMD", NULL);   /* Intel's numbers, AMD's vendor */
    assert_x86(0x00000f01, "GenuineIntel", NULL);
    assert_x86(0x000c06f2, "SomeoneElse!", NULL);
    assert_null(cpu_x86_uarch(NULL, 6, 0xcf, 2));
}

static void arm_server_cores_come_from_midr(void **state)
{
    (void)state;
    /* MIDR_EL1 0x413fd0c1 (Graviton 2, Ampere Altra): implementer 0x41, part 0xd0c. */
    uint32_t midr = 0x413fd0c1;
    assert_string_equal(cpu_arm_uarch(midr >> 24, (midr >> 4) & 0xfff), "Neoverse N1");
    assert_string_equal(cpu_arm_uarch(0x41, 0xd40), "Neoverse V1");   /* Graviton 3 */
    assert_string_equal(cpu_arm_uarch(0x41, 0xd49), "Neoverse N2");
    assert_string_equal(cpu_arm_uarch(0x41, 0xd4f), "Neoverse V2");   /* Grace, Graviton 4 */
    assert_string_equal(cpu_arm_uarch(0x41, 0xd84), "Neoverse V3");
    assert_string_equal(cpu_arm_uarch(0xc0, 0xac3), "AmpereOne");
    assert_null(cpu_arm_uarch(0x41, 0xfff));
    assert_null(cpu_arm_uarch(0x51, 0xd0c));   /* a part number means nothing alone */
}

static void vendors_have_short_names(void **state)
{
    (void)state;
    char vendor[13];
    cpu_x86_vendor(0x68747541u, 0x69746e65u, 0x444d4163u, vendor);   /* an AMD CPU's leaf 0 */
    assert_string_equal(vendor, "AuthenticAMD");
    cpu_x86_vendor(0x756e6547u, 0x49656e69u, 0x6c65746eu, vendor);   /* an Intel CPU's */
    assert_string_equal(vendor, "GenuineIntel");
    assert_string_equal(cpu_x86_vendor_short("GenuineIntel"), "intel");
    assert_string_equal(cpu_x86_vendor_short("AuthenticAMD"), "amd");
    assert_string_equal(cpu_x86_vendor_short("Nope"), "unknown");
    assert_string_equal(cpu_arm_vendor_short(0x41), "arm");
    assert_string_equal(cpu_arm_vendor_short(0xc0), "ampere");
    assert_string_equal(cpu_arm_vendor_short(0x99), "unknown");
}

/* The library's one per-CPU tuning rule reads the same table, so the CPUs it names are
 * the CPUs the CSV's uarch column names. */
static bool streaming_pays_on(unsigned eax)
{
    unsigned family, model, stepping;
    cpu_x86_signature(eax, &family, &model, &stepping);
    return cpu_streaming_stores_pay_on(cpu_x86_uarch("AuthenticAMD", family, model, stepping));
}

static void streaming_c_is_off_on_zen3_and_zen3plus_only(void **state)
{
    (void)state;
    assert_false(streaming_pays_on(0x00a00f11));   /* EPYC 7003 Milan: f19 m01 */
    assert_false(streaming_pays_on(0x00a20f10));   /* Ryzen 5000 Vermeer: f19 m21 */
    assert_false(streaming_pays_on(0x00a40f41));   /* Rembrandt (Zen 3+): f19 m44 */
    assert_false(streaming_pays_on(0x00a50f00));   /* Cezanne: f19 m50 */
    assert_true(streaming_pays_on(0x00a10f11));    /* Genoa (Zen 4) */
    assert_true(streaming_pays_on(0x00b00f21));    /* Turin (Zen 5) */
    assert_true(streaming_pays_on(0x00830f10));    /* Rome (Zen 2) */
    assert_true(cpu_streaming_stores_pay_on("Emerald Rapids"));
    assert_true(cpu_streaming_stores_pay_on(NULL));   /* a CPU the table does not know */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signature_folds_extended_family_and_model),
        cmocka_unit_test(amd_server_cores_are_told_apart),
        cmocka_unit_test(intel_server_cores_are_told_apart),
        cmocka_unit_test(unknown_x86_models_have_no_name),
        cmocka_unit_test(arm_server_cores_come_from_midr),
        cmocka_unit_test(vendors_have_short_names),
        cmocka_unit_test(streaming_c_is_off_on_zen3_and_zen3plus_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
