/* Freestanding stand-in for <stdio.h> (tests/bench/c): the benchmark programs print only to
 * prove their results; bench_shim.c hashes every printed value instead (bench_hash). */
#ifndef BENCH_STDIO_H
#define BENCH_STDIO_H
#include <stddef.h>
#include <stdarg.h>
typedef struct bench_file FILE;
extern FILE *stdout;
extern FILE *stderr;
int printf(const char *format, ...);
int fprintf(FILE *stream, const char *format, ...);
int vfprintf(FILE *stream, const char *format, va_list args);
int sprintf(char *s, const char *format, ...);
int putchar(int c);
int puts(const char *s);
#define EOF (-1)
#endif
