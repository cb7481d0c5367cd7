#include "uarch.h"

#include <stddef.h>
#include <string.h>

/* One row per model range; the first match wins, so a stepping-specific row goes before
 * its model's general one. */
typedef struct {
    const char *vendor;
    unsigned family, model_lo, model_hi;
    int stepping_lo, stepping_hi;   /* -1: any stepping */
    const char *name;
} x86_row;

static const x86_row x86_table[] = {
    /* AMD: family 17h Zen/Zen+/Zen 2, 19h Zen 3/Zen 4, 1Ah Zen 5 (per AMD's revision
     * guides; client and server parts of one core share the name). */
    { "AuthenticAMD", 0x17, 0x00, 0x2f, -1, -1, "Zen" },
    { "AuthenticAMD", 0x17, 0x30, 0xff, -1, -1, "Zen 2" },
    { "AuthenticAMD", 0x19, 0x00, 0x0f, -1, -1, "Zen 3" },     /* Milan */
    { "AuthenticAMD", 0x19, 0x10, 0x1f, -1, -1, "Zen 4" },     /* Genoa */
    { "AuthenticAMD", 0x19, 0x20, 0x2f, -1, -1, "Zen 3" },     /* Vermeer */
    { "AuthenticAMD", 0x19, 0x40, 0x4f, -1, -1, "Zen 3+" },    /* Rembrandt */
    { "AuthenticAMD", 0x19, 0x50, 0x5f, -1, -1, "Zen 3" },     /* Cezanne */
    { "AuthenticAMD", 0x19, 0x60, 0x7f, -1, -1, "Zen 4" },     /* Raphael, Phoenix */
    { "AuthenticAMD", 0x19, 0xa0, 0xaf, -1, -1, "Zen 4c" },    /* Bergamo, Siena */
    { "AuthenticAMD", 0x1a, 0x00, 0x1f, -1, -1, "Zen 5" },     /* Turin, Turin dense */
    { "AuthenticAMD", 0x1a, 0x20, 0x7f, -1, -1, "Zen 5" },     /* Strix, Granite Ridge */
    { "HygonGenuine", 0x18, 0x00, 0xff, -1, -1, "Dhyana" },
    /* Intel family 6: the server cores first, then recent client cores. */
    { "GenuineIntel", 6, 0x3f, 0x3f, -1, -1, "Haswell" },
    { "GenuineIntel", 6, 0x4f, 0x4f, -1, -1, "Broadwell" },
    { "GenuineIntel", 6, 0x55, 0x55, 0, 4, "Skylake-SP" },
    { "GenuineIntel", 6, 0x55, 0x55, 5, 7, "Cascade Lake" },
    { "GenuineIntel", 6, 0x55, 0x55, 10, 11, "Cooper Lake" },
    { "GenuineIntel", 6, 0x6a, 0x6a, -1, -1, "Ice Lake-SP" },
    { "GenuineIntel", 6, 0x6c, 0x6c, -1, -1, "Ice Lake-D" },
    { "GenuineIntel", 6, 0x8f, 0x8f, -1, -1, "Sapphire Rapids" },
    { "GenuineIntel", 6, 0xcf, 0xcf, -1, -1, "Emerald Rapids" },
    { "GenuineIntel", 6, 0xad, 0xae, -1, -1, "Granite Rapids" },
    { "GenuineIntel", 6, 0xaf, 0xaf, -1, -1, "Sierra Forest" },
    { "GenuineIntel", 6, 0xdd, 0xdd, -1, -1, "Clearwater Forest" },
    { "GenuineIntel", 6, 0x4e, 0x4e, -1, -1, "Skylake" },
    { "GenuineIntel", 6, 0x5e, 0x5e, -1, -1, "Skylake" },
    { "GenuineIntel", 6, 0x8e, 0x8e, -1, -1, "Kaby Lake" },
    { "GenuineIntel", 6, 0x9e, 0x9e, -1, -1, "Coffee Lake" },
    { "GenuineIntel", 6, 0x7d, 0x7e, -1, -1, "Ice Lake" },
    { "GenuineIntel", 6, 0x8c, 0x8d, -1, -1, "Tiger Lake" },
    { "GenuineIntel", 6, 0x97, 0x9a, -1, -1, "Alder Lake" },
    { "GenuineIntel", 6, 0xb7, 0xb7, -1, -1, "Raptor Lake" },
    { "GenuineIntel", 6, 0xba, 0xba, -1, -1, "Raptor Lake" },
    { "GenuineIntel", 6, 0xbf, 0xbf, -1, -1, "Raptor Lake" },
    { "GenuineIntel", 6, 0xaa, 0xac, -1, -1, "Meteor Lake" },
    { "GenuineIntel", 6, 0xbd, 0xbd, -1, -1, "Lunar Lake" },
    { "GenuineIntel", 6, 0xc5, 0xc6, -1, -1, "Arrow Lake" },
};

const char *cpu_x86_uarch(const char *vendor, unsigned family, unsigned model,
                          unsigned stepping)
{
    if (!vendor)
        return NULL;
    for (size_t i = 0; i < sizeof x86_table / sizeof *x86_table; i++) {
        const x86_row *r = &x86_table[i];
        if (strcmp(r->vendor, vendor) != 0 || r->family != family || model < r->model_lo ||
            model > r->model_hi)
            continue;
        if (r->stepping_lo >= 0 && ((int)stepping < r->stepping_lo ||
                                    (int)stepping > r->stepping_hi))
            continue;
        return r->name;
    }
    return NULL;
}

typedef struct {
    unsigned implementer, part;
    const char *name;
} arm_row;

/* Part numbers from each core's Technical Reference Manual (MIDR_EL1). */
static const arm_row arm_table[] = {
    { 0x41, 0xd0c, "Neoverse N1" },
    { 0x41, 0xd49, "Neoverse N2" },
    { 0x41, 0xd8e, "Neoverse N3" },
    { 0x41, 0xd40, "Neoverse V1" },
    { 0x41, 0xd4f, "Neoverse V2" },
    { 0x41, 0xd84, "Neoverse V3" },
    { 0x41, 0xd4a, "Neoverse E1" },
    { 0x41, 0xd03, "Cortex-A53" },
    { 0x41, 0xd05, "Cortex-A55" },
    { 0x41, 0xd07, "Cortex-A57" },
    { 0x41, 0xd08, "Cortex-A72" },
    { 0x41, 0xd0b, "Cortex-A76" },
    { 0x41, 0xd0d, "Cortex-A77" },
    { 0x41, 0xd41, "Cortex-A78" },
    { 0x41, 0xd44, "Cortex-X1" },
    { 0x41, 0xd47, "Cortex-A710" },
    { 0x41, 0xd4d, "Cortex-A715" },
    { 0x41, 0xd81, "Cortex-A720" },
    { 0x46, 0x001, "A64FX" },
    { 0x48, 0xd01, "TaiShan v110" },
    { 0xc0, 0xac3, "AmpereOne" },
};

const char *cpu_arm_uarch(unsigned implementer, unsigned part)
{
    for (size_t i = 0; i < sizeof arm_table / sizeof *arm_table; i++)
        if (arm_table[i].implementer == implementer && arm_table[i].part == part)
            return arm_table[i].name;
    return NULL;
}

const char *cpu_x86_vendor_short(const char *vendor)
{
    if (!vendor)
        return "unknown";
    if (!strcmp(vendor, "GenuineIntel"))
        return "intel";
    if (!strcmp(vendor, "AuthenticAMD"))
        return "amd";
    if (!strcmp(vendor, "HygonGenuine"))
        return "hygon";
    return "unknown";
}

const char *cpu_arm_vendor_short(unsigned implementer)
{
    switch (implementer) {
    case 0x41: return "arm";
    case 0x42: return "broadcom";
    case 0x46: return "fujitsu";
    case 0x48: return "hisilicon";
    case 0x4e: return "nvidia";
    case 0x51: return "qualcomm";
    case 0x61: return "apple";
    case 0xc0: return "ampere";
    default: return "unknown";
    }
}

void cpu_x86_signature(unsigned eax, unsigned *family, unsigned *model, unsigned *stepping)
{
    unsigned base_family = (eax >> 8) & 0xf, base_model = (eax >> 4) & 0xf;
    *stepping = eax & 0xf;
    *family = base_family == 0xf ? base_family + ((eax >> 20) & 0xff) : base_family;
    *model = base_family == 0x6 || base_family == 0xf
                 ? base_model | (((eax >> 16) & 0xf) << 4) : base_model;
}

void cpu_x86_vendor(unsigned ebx, unsigned edx, unsigned ecx, char out[13])
{
    memcpy(out, &ebx, 4);
    memcpy(out + 4, &edx, 4);
    memcpy(out + 8, &ecx, 4);
    out[12] = '\0';
}
