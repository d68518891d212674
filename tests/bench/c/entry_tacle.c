/* Entry of a TACLeBench program (tests/examples/c_bench.rs): its `main` is compiled as
 * `bench_program_main` and returns 0 on success (a few return a checksum). */
#include <stdint.h>
int bench_program_main(void);
uint32_t bench_entry(uint32_t seed) {
    (void)seed;
    return (uint32_t)bench_program_main();
}
