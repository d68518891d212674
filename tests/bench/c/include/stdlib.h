/* Freestanding stand-in for <stdlib.h> (tests/bench/c): a bump allocator in bench_shim.c. */
#ifndef BENCH_STDLIB_H
#define BENCH_STDLIB_H
#include <stddef.h>
void *malloc(size_t n);
void *calloc(size_t count, size_t n);
void free(void *p);
int abs(int x);
void exit(int status);
#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#endif
