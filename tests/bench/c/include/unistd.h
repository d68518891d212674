/* Freestanding stand-in for <unistd.h> (tests/bench/c): nothing the benchmarks use. */
