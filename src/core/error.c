/*
 * The last error of each thread.  Thread-local because the API promises that a failure
 * on one thread never overwrites the message another thread is about to read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static _Thread_local char last_error[512];

fz_status set_error(fz_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

const char *fz_last_error(void) { return last_error; }

void log_note(const char *fmt, ...)
{
    const char *v = getenv("FREEZEBENCH_VERBOSE");
    if (!v || strcmp(v, "1") != 0)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "freezebench: note: %s\n", text);
}

const char *fz_status_name(fz_status s)
{
    switch (s) {
    case FZ_OK:        return "FZ_OK";
    case FZ_EINVAL:    return "FZ_EINVAL";
    case FZ_ENOMEM:    return "FZ_ENOMEM";
    case FZ_EIO:       return "FZ_EIO";
    case FZ_EFORMAT:   return "FZ_EFORMAT";
    case FZ_ENOTFOUND: return "FZ_ENOTFOUND";
    case FZ_ENONFINITE: return "FZ_ENONFINITE";
    }
    return "FZ_UNKNOWN";
}
