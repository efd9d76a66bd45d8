#ifndef IAMKEYS_RUNID_H
#define IAMKEYS_RUNID_H
/*
 * A random run id for the intent marks a run writes (the rotation tag's
 * run=, the create mark): 12 characters of [a-z0-9] from RAND_bytes, so
 * that two runs started in the same second never write the same mark.
 */
#include "core/rotation.h"

/* 0, or -1 with a one-line message when the random generator fails. */
int run_id_make(char out[ROTATION_RUN_ID_MAX + 1], struct strbuf *err);

#endif
