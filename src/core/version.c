/* fz_version: the version this library was built as. */
#include "freezebench.h"

const char *fz_version(void) { return FZ_VERSION_STRING; }
