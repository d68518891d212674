;; The module the firmware runs: integer, 64-bit and float work with no linear memory, so it
;; fits the 16 KiB of RAM of the smallest board. Every export counts its calls in a global.
(module
  (global $calls (mut i32) (i32.const 0))
  (func $count (global.set $calls (i32.add (global.get $calls) (i32.const 1))))

  (func (export "fib") (param $n i32) (result i32)
    (local $a i32) (local $b i32) (local $t i32)
    (call $count)
    (local.set $b (i32.const 1))
    (block $done
      (loop $step
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $t (i32.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $step)))
    (local.get $a))

  (func (export "gcd") (param $a i32) (param $b i32) (result i32)
    (local $t i32)
    (call $count)
    (block $done
      (loop $step
        (br_if $done (i32.eqz (local.get $b)))
        (local.set $t (i32.rem_u (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (br $step)))
    (local.get $a))

  ;; Integer square root of an unsigned 32-bit value, one result bit per step.
  (func (export "isqrt") (param $x i32) (result i32)
    (local $root i32) (local $bit i32) (local $trial i32)
    (call $count)
    (local.set $bit (i32.const 0x40000000))
    (block $done
      (loop $step
        (br_if $done (i32.eqz (local.get $bit)))
        (local.set $trial (i32.add (local.get $root) (local.get $bit)))
        (if (i32.ge_u (local.get $x) (local.get $trial))
          (then
            (local.set $x (i32.sub (local.get $x) (local.get $trial)))
            (local.set $root (i32.add (local.get $trial) (local.get $bit))))
          (else nop))
        (local.set $root (i32.shr_u (local.get $root) (i32.const 1)))
        (local.set $bit (i32.shr_u (local.get $bit) (i32.const 2)))
        (br $step)))
    (local.get $root))

  ;; FNV-1a over the 8 little-endian bytes of seed, seed + 1, ..., n words.
  (func (export "fnv1a64") (param $seed i64) (param $n i32) (result i64)
    (local $h i64) (local $byte i32) (local $w i64)
    (call $count)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done
      (loop $word
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $w (local.get $seed))
        (local.set $byte (i32.const 8))
        (loop $bytes
          (local.set $h (i64.mul
            (i64.xor (local.get $h) (i64.and (local.get $w) (i64.const 0xff)))
            (i64.const 0x100000001b3)))
          (local.set $w (i64.shr_u (local.get $w) (i64.const 8)))
          (local.set $byte (i32.sub (local.get $byte) (i32.const 1)))
          (br_if $bytes (local.get $byte)))
        (local.set $seed (i64.add (local.get $seed) (i64.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $word)))
    (local.get $h))

  (func (export "lerp") (param $a f32) (param $b f32) (param $t f32) (result f32)
    (call $count)
    (f32.add (local.get $a) (f32.mul (f32.sub (local.get $b) (local.get $a)) (local.get $t))))

  (func (export "hypot") (param $x f32) (param $y f32) (result f32)
    (call $count)
    (f32.sqrt (f32.add (f32.mul (local.get $x) (local.get $x))
                       (f32.mul (local.get $y) (local.get $y)))))

  ;; Q16.16 fixed point, saturating.
  (func (export "to_fixed") (param $x f32) (result i32)
    (call $count)
    (i32.trunc_sat_f32_s (f32.mul (local.get $x) (f32.const 65536))))

  (func (export "mean") (param $a f64) (param $b f64) (result f64)
    (call $count)
    (f64.mul (f64.add (local.get $a) (local.get $b)) (f64.const 0.5)))

  (func (export "safe_div") (param $a i32) (param $b i32) (result i32)
    (call $count)
    (i32.div_s (local.get $a) (local.get $b)))

  (func (export "calls") (result i32) (global.get $calls)))
