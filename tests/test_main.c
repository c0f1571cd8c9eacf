/* Runs every unit suite (or the suites named on the command line) with the
 * CUnit basic runner. Exit status: 0 when all pass, 1 when any assertion or
 * test failed, 2 on a CUnit or usage error. */
#include <CUnit/Basic.h>
#include <stdio.h>

#include "tests.h"

static void register_all(void)
{
    add_vclock_tests();
    add_version_tests();
    add_ids_tests();
    add_wire_tests();
    add_route_tests();
    add_peermsg_tests();
    add_record_tests();
    add_store_tests();
    add_config_tests();
    add_auth_tests();
    add_kv_tests();
    add_seal_tests();
    add_core_tests();
    add_links_tests();
    add_script_tests();
    add_output_tests();
    add_model_tests();
    add_session_tests();
    add_rpcserve_tests();
    add_rpcflat_tests();
    add_proto_tests();
    add_screen_tests();
    add_loop_tests();
    add_buf_tests();
    add_checker_tests();
    add_fixture_tests();
    add_procs_tests();
    add_history_tests();
    add_dump_tests();
    add_report_tests();
}

/* Failures of the last run. Failed assertions, failed tests and failed
 * suites (an init or cleanup error) are all counted, so nothing that went
 * wrong can end in a zero exit status. CUnit resets these per run. */
static unsigned last_run_failures(void)
{
    return CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
           CU_get_number_of_suites_failed();
}

/* Returns 0 when all passed, 1 on failures, 2 on a runner error. */
static int run(int argc, char **argv)
{
    if (argc < 2) {
        if (CU_basic_run_tests() != CUE_SUCCESS)
            return 2;
        return last_run_failures() ? 1 : 0;
    }
    unsigned failures = 0;
    for (int i = 1; i < argc; i++) {
        CU_pSuite s = CU_get_suite(argv[i]);
        if (!s) {
            fprintf(stderr, "unit-tests: no suite named '%s'\n", argv[i]);
            return 2;
        }
        if (CU_basic_run_suite(s) != CUE_SUCCESS)
            return 2;
        failures += last_run_failures();
    }
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "unit-tests: %s\n", CU_get_error_msg());
        return 2;
    }
    register_all();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    int rc = run(argc, argv);
    CU_cleanup_registry();
    fprintf(stderr, "unit-tests: %s\n", rc == 0 ? "all passed" : rc == 1 ? "FAILED" : "ERROR");
    return rc;
}
