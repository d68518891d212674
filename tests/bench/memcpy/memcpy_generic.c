/* A portable C memcpy/memset of the usual shape (newlib's generic C version works the same
 * way): when both pointers are word-aligned, four words per iteration, then single words, then
 * bytes; otherwise bytes. The native baseline on RV32, where the toolchain has no C library. */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n >= 16 && (((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
        uint32_t *dw = (uint32_t *)d;
        const uint32_t *sw = (const uint32_t *)s;
        while (n >= 16) {
            dw[0] = sw[0];
            dw[1] = sw[1];
            dw[2] = sw[2];
            dw[3] = sw[3];
            dw += 4;
            sw += 4;
            n -= 16;
        }
        while (n >= 4) {
            *dw++ = *sw++;
            n -= 4;
        }
        d = (unsigned char *)dw;
        s = (const unsigned char *)sw;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n > 0 && ((uintptr_t)d & 3) != 0) {
        *d++ = (unsigned char)c;
        n--;
    }
    if (n >= 4) {
        uint32_t w = (unsigned char)c;
        w |= w << 8;
        w |= w << 16;
        uint32_t *dw = (uint32_t *)d;
        while (n >= 16) {
            dw[0] = w;
            dw[1] = w;
            dw[2] = w;
            dw[3] = w;
            dw += 4;
            n -= 16;
        }
        while (n >= 4) {
            *dw++ = w;
            n -= 4;
        }
        d = (unsigned char *)dw;
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}
