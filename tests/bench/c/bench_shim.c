/* The freestanding library of the real-C benchmark (tests/examples/c_bench.rs), written for it:
 * the few libc functions the programs of ../shared/bench-c call, compiled by both sides (into
 * the wasm module for synth, as a native object for clang) and not counted in `.text`. Every
 * definition is weak, so a program's own version wins.
 *
 * Nothing is printed: printf and friends fold the format and every argument into `bench_hash`
 * (FNV-1a), which is how PolyBench's output arrays become a checksum compared with the native
 * build. Floats are hashed by their bits, so the comparison is exact. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define WEAK __attribute__((weak))

uint32_t bench_hash = 2166136261u;

static void hash_byte(uint8_t b) {
    bench_hash = (bench_hash ^ b) * 16777619u;
}
static void hash_u32(uint32_t v) {
    for (int i = 0; i < 4; i++) hash_byte((uint8_t)(v >> (8 * i)));
}
static void hash_u64(uint64_t v) {
    hash_u32((uint32_t)v);
    hash_u32((uint32_t)(v >> 32));
}
static void hash_string(const char *s) {
    while (*s) hash_byte((uint8_t)*s++);
}

WEAK void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}
WEAK void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        while (n--) d[n] = s[n];
    }
    return dst;
}
WEAK void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}
WEAK int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}
WEAK size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
WEAK int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}
WEAK int strncmp(const char *a, const char *b, size_t n) {
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}
WEAK char *strcpy(char *dst, const char *src) {
    char *d = dst;
    while ((*d++ = *src++)) {}
    return dst;
}
WEAK int abs(int x) { return x < 0 ? -x : x; }

/* A bump allocator over a static arena; `bench_reset_heap` starts it afresh. */
#define ARENA_BYTES (192 * 1024)
static uint64_t arena[ARENA_BYTES / 8];
static size_t arena_used;
void bench_reset_heap(void) { arena_used = 0; }
WEAK void *malloc(size_t n) {
    size_t start = (arena_used + 15) & ~(size_t)15;
    if (start + n > ARENA_BYTES) return NULL;
    arena_used = start + n;
    return (char *)arena + start;
}
WEAK void *calloc(size_t count, size_t n) {
    unsigned char *p = malloc(count * n);
    if (p) memset(p, 0, count * n);
    return p;
}
WEAK void free(void *p) { (void)p; }
WEAK void *polybench_alloc_data(unsigned long long n, int elt_size) {
    void *p = malloc((size_t)n * (size_t)elt_size);
    if (!p) bench_hash ^= 0xdeadbeefu; /* the checksum can no longer match */
    return p;
}
WEAK void polybench_free_data(void *p) { free(p); }

/* Every conversion's argument goes into the hash, by type: int, long, long long, double
 * (bits), string, pointer (not hashed: addresses differ between builds). */
WEAK int vfprintf(void *stream, const char *f, va_list args) {
    (void)stream;
    hash_string(f);
    for (; *f; f++) {
        if (*f != '%') continue;
        f++;
        while (*f && (*f == '-' || *f == '+' || *f == ' ' || *f == '#' || *f == '0' ||
                      *f == '.' || (*f >= '1' && *f <= '9')))
            f++;
        int longs = 0;
        while (*f == 'l' || *f == 'h' || *f == 'z') {
            if (*f == 'l') longs++;
            f++;
        }
        switch (*f) {
        case 'd': case 'i': case 'u': case 'x': case 'X': case 'c': case 'o':
            if (longs >= 2) hash_u64(va_arg(args, unsigned long long));
            else if (longs == 1) hash_u32((uint32_t)va_arg(args, unsigned long));
            else hash_u32(va_arg(args, unsigned int));
            break;
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
            union { double d; uint64_t u; } v = { .d = va_arg(args, double) };
            hash_u64(v.u);
            break;
        }
        case 's': hash_string(va_arg(args, const char *)); break;
        case 'p': (void)va_arg(args, void *); break;
        case '\0': return 0;
        default: break;
        }
    }
    return 0;
}
WEAK int fprintf(void *stream, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(stream, format, args);
    va_end(args);
    return 0;
}
WEAK int printf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(0, format, args);
    va_end(args);
    return 0;
}
WEAK int putchar(int c) {
    hash_byte((uint8_t)c);
    return c;
}
WEAK int puts(const char *s) {
    hash_string(s);
    return 0;
}
void *stdout = 0;
void *stderr = 0;

/* exp and pow for PolyBench (deriche): plain C, the same algorithm on both sides. */
static double scale2(double x, int k) {
    while (k > 0) { x *= 2.0; k--; }
    while (k < 0) { x *= 0.5; k++; }
    return x;
}
WEAK double exp(double x) {
    if (x != x) return x;
    if (x > 709.0) return __builtin_huge_val();
    if (x < -745.0) return 0.0;
    /* exp(x) = 2^k * exp(r), |r| <= ln2/2, exp(r) by its Taylor series */
    const double ln2 = 0.69314718055994530942;
    int k = (int)(x / ln2 + (x < 0 ? -0.5 : 0.5));
    double r = x - k * ln2, term = 1.0, sum = 1.0;
    for (int i = 1; i < 20; i++) {
        term *= r / i;
        sum += term;
    }
    return scale2(sum, k);
}
static double log_of(double x) {
    /* x = m * 2^k, m in [1, 2); log(m) = 2 atanh((m-1)/(m+1)) */
    int k = 0;
    while (x >= 2.0) { x *= 0.5; k++; }
    while (x < 1.0) { x *= 2.0; k--; }
    double s = (x - 1.0) / (x + 1.0), s2 = s * s, term = s, sum = 0.0;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= s2;
    }
    return 2.0 * sum + k * 0.69314718055994530942;
}
WEAK double pow(double x, double y) {
    if (y == 0.0) return 1.0;
    if (x == 0.0) return 0.0;
    if (x < 0.0) return -exp(y * log_of(-x)); /* odd integer powers only, enough here */
    return exp(y * log_of(x));
}
WEAK float expf(float x) { return (float)exp(x); }
WEAK float powf(float x, float y) { return (float)pow(x, y); }
