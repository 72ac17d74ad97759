/*
 * tests/support/cu_main.c
 *
 * See cu_main.h. Logging goes to stderr at warn unless OG_LOG_LEVEL says otherwise, so a
 * failing test shows the daemons' own words next to CUnit's report.
 */
#include "tests/support/cu_main.h"

#include <CUnit/Basic.h>
#include <stdio.h>

#include "common/log.h"

int cu_run_with(const char *name, CU_TestInfo *tests, CU_InitializeFunc init,
                CU_CleanupFunc cleanup)
{
    CU_SuiteInfo suites[] = {{name, init, cleanup, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    unsigned failures;

    (void) log_setup("test", NULL, true);
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    (void) CU_basic_run_tests();
    failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failures ? 1 : 0;
}

int cu_run(const char *name, CU_TestInfo *tests)
{
    return cu_run_with(name, tests, NULL, NULL);
}
