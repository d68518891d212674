//! A hand-written C imitation of what synth emits for a small module, shared by the tests that
//! prove the harness before synth itself produces objects.

#![allow(dead_code)] // each test binary uses a different part

pub const WAT: &str = r#"(module
  (import "env" "pair.of" (func $pair (param i64 i32) (result i64 i32)))
  (memory 1 2)
  (global $count (mut i32) (i32.const 7))
  (global $wide (mut i64) (i64.const -5))
  (data (i32.const 16) "hi")
  (func (export "poke") (param $a i32) (param $v i64) (result i64)
    (i64.store (local.get $a) (local.get $v))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.set $wide (i64.add (global.get $wide) (local.get $v)))
    (drop (call $pair (local.get $v) (local.get $a))))
  (func (export "divide") (param i32 i32) (result i32)
    (i32.div_u (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32)
    (memory.grow (local.get 0)))
  (func (export "both") (param i32) (result i32 i64)
    (local.get 0) (i64.extend_i32_s (local.get 0))))"#;

pub const VECTORS: &str = "poke: 0 0x1122334455667788; 65528 -1; 65529 5; -1 1; 100 0\n\
                       divide: 7 2; 1 0; -1 3\n\
                       grow: 0; 1; 2\n\
                       both: -3; 0x7fffffff\n";

/// What synth emits for WAT, written in C. `WRONG` plants one bug (a byte-order slip in
/// `poke`'s store) that the comparison must report.
pub const C_IMITATION: &str = r#"
#include <stdint.h>
struct env_pair_x2eof_results { int64_t r0; int32_t r1; };
struct both_results { int32_t r0; int64_t r1; };
extern void env_pair_x2eof(struct env_pair_x2eof_results *out, int64_t v, int32_t a);
extern void synth_trap(uint32_t code) __attribute__((noreturn));

uint8_t synth_memory[2 * 65536] __attribute__((aligned(8)));
uint32_t synth_memory_bytes;
int32_t synth_global_0 = 7;
int64_t synth_global_1 = -5;

void synth_init(void) {
    synth_memory_bytes = 65536;
    synth_memory[16] = 'h';
    synth_memory[17] = 'i';
}

int64_t poke(int32_t a, int64_t v) {
    uint32_t at = (uint32_t)a;
    if (at > synth_memory_bytes || synth_memory_bytes - at < 8) synth_trap(2);
    for (int i = 0; i < 8; i++) synth_memory[at + (WRONG ? 7 - i : i)] = (uint8_t)(v >> (8 * i));
    synth_global_0 += 1;
    synth_global_1 += v;
    struct env_pair_x2eof_results r;
    env_pair_x2eof(&r, v, a);
    return r.r0;
}

int32_t divide(uint32_t a, uint32_t b) {
    if (b == 0) synth_trap(3);
    return (int32_t)(a / b);
}

int32_t grow(uint32_t pages) {
    uint32_t old = synth_memory_bytes / 65536;
    if (pages > 2 - old) return -1;
    synth_memory_bytes += pages * 65536;
    return (int32_t)old;
}

void both(struct both_results *out, int32_t x) {
    out->r0 = x;
    out->r1 = x;
}
"#;

/// The header synth would generate for `WAT` (docs/ABI.md spelling).
pub const HEADER: &str = r#"
#include <stdint.h>
struct both_results { int32_t r0; int64_t r1; };
struct env_pair_x2eof_results { int64_t r0; int32_t r1; };
void env_pair_x2eof(struct env_pair_x2eof_results *results, int64_t p0, int32_t p1);
int64_t poke(int32_t p0, int64_t p1);
int32_t divide(int32_t p0, int32_t p1);
int32_t grow(int32_t p0);
void both(struct both_results *results, int32_t p0);
void synth_init(void);
"#;
