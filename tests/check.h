/* check.h: the counting CHECK of the tests that run without cmocka (the
 * GPU tests, which must be able to exit 77 before any test framework). */
#ifndef INRF_TESTS_CHECK_H
#define INRF_TESTS_CHECK_H

#include <stdio.h>

static int failures;

/* Records a failure with its place and a printf-style message; goes on. */
#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (!(cond)) {                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
            fprintf(stderr, __VA_ARGS__);                         \
            fputc('\n', stderr);                                  \
            failures++;                                           \
        }                                                         \
    } while (0)

#endif /* INRF_TESTS_CHECK_H */
