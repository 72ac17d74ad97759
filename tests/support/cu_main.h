/*
 * tests/support/cu_main.h
 *
 * The shared CUnit runner: one suite per test executable, run with the basic interface so
 * CUnit's "Run Summary" block is printed, non-zero exit when any assertion failed.
 */
#ifndef OG_TESTS_CU_MAIN_H
#define OG_TESTS_CU_MAIN_H

#include <CUnit/CUnit.h>

/* Runs tests (terminated by CU_TEST_INFO_NULL) as suite name; returns the process exit code. */
int cu_run(const char *name, CU_TestInfo *tests);
/* As cu_run with suite setup and teardown functions (either may be NULL). */
int cu_run_with(const char *name, CU_TestInfo *tests, CU_InitializeFunc init,
                CU_CleanupFunc cleanup);

#endif
