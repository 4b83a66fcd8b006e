/* option_number.h: reading a number option, for the benchmark's two small servers
   (ref_server.c, fake_server.c), which link nothing else. */
#ifndef OPTION_NUMBER_H
#define OPTION_NUMBER_H

#include <stdlib.h>

/* The option's text as a whole number, or -1 when it is not one ("12x", "", "two"): every
   option it reads is refused below 0, so the caller's range check rejects it with the rest. */
static inline long option_number(const char *text)
{
    char *end;
    long value = strtol(text, &end, 10);
    return end == text || *end != '\0' ? -1 : value;
}

#endif
