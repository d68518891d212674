;; Soft-float runtime: the float operators for which libgcc / compiler-rt have no routine with
;; exact WebAssembly semantics (sqrt, rounding to integral, min/max, saturating truncation).
;;
;; On cores without an FPU synth carries f32 values as i32 bit patterns and f64 values as i64 bit
;; patterns; this module is compiled together with the user module and each operator becomes a
;; call to the export of the same name. It therefore uses integer instructions only (no f32/f64
;; type or operator anywhere), and has no imports, memory, globals or tables.
;;
;; NaN rules (WebAssembly "NaN propagation"): a NaN operand comes back with its quiet bit set
;; (an arithmetic NaN); a NaN made from non-NaN operands (sqrt of a negative number) is the
;; positive canonical NaN. Subnormals are ordinary values throughout.
;;
;; Layout reminders: f32 = sign:1 exponent:8 (bias 127) fraction:23, quiet bit 0x00400000;
;;                   f64 = sign:1 exponent:11 (bias 1023) fraction:52, quiet bit 1 << 51.
;; `select` and masks keep the short functions branch-free: on Thumb-2 / RV32 a mispredicted or
;; taken branch costs more than the few extra ALU operations.
(module

  ;; ---------------------------------------------------------------------------------------------
  ;; sqrt
  ;; ---------------------------------------------------------------------------------------------

  ;; Correctly rounded square root by the classic restoring digit recurrence (as in fdlibm's
  ;; e_sqrtf): one result bit per iteration, 24 significand bits plus one round bit. A square
  ;; root is never exactly half-way between two floats, so "round bit set" already means
  ;; "above the midpoint" and no sticky bit is needed.
  (func $f32_sqrt (export "f32_sqrt") (param $x i32) (result i32)
    (local $e i32) (local $m i32) (local $s i32) (local $r i32) (local $t i32) (local $sh i32)
    ;; Unsigned >= +inf covers +inf, every NaN and every negative number (including -0).
    (if (i32.ge_u (local.get $x) (i32.const 0x7f800000))
      (then
        (if (i32.gt_u (i32.and (local.get $x) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
          (then (return (i32.or (local.get $x) (i32.const 0x00400000)))))
        ;; +inf and -0 are their own roots; anything else here is negative: canonical NaN.
        (return
          (select (local.get $x) (i32.const 0x7fc00000)
            (i32.or (i32.eq (local.get $x) (i32.const 0x7f800000))
                    (i32.eq (local.get $x) (i32.const 0x80000000)))))))
    (if (i32.eqz (local.get $x)) (then (return (local.get $x))))
    (local.set $e (i32.shr_u (local.get $x) (i32.const 23)))
    (local.set $m (i32.and (local.get $x) (i32.const 0x007fffff)))
    (if (i32.eqz (local.get $e))
      (then
        ;; Subnormal: normalise so that the leading one sits where the implicit bit would.
        (local.set $sh (i32.sub (i32.clz (local.get $m)) (i32.const 8)))
        (local.set $m (i32.shl (local.get $m) (local.get $sh)))
        (local.set $e (i32.sub (i32.const 1) (local.get $sh))))
      (else
        (local.set $m (i32.or (local.get $m) (i32.const 0x00800000)))))
    (local.set $e (i32.sub (local.get $e) (i32.const 127)))
    ;; The root halves the exponent, so make it even by doubling the significand when it is
    ;; odd; the recurrence wants the radicand doubled once more on top of that.
    (local.set $m (i32.shl (local.get $m) (i32.add (i32.const 1) (i32.and (local.get $e) (i32.const 1)))))
    (local.set $e (i32.shr_s (local.get $e) (i32.const 1)))
    ;; $s is twice the partial root, $m the shifted remainder, $r the bit being decided.
    (local.set $r (i32.const 0x01000000))
    (loop $bit
      (local.set $t (i32.add (local.get $s) (local.get $r)))
      ;; $sh = all ones when the trial subtrahend fits into the remainder (branch-free step).
      (local.set $sh (i32.sub (i32.const 0) (i32.le_u (local.get $t) (local.get $m))))
      (local.set $s (i32.add (local.get $s) (i32.and (local.get $sh) (i32.shl (local.get $r) (i32.const 1)))))
      (local.set $m (i32.sub (local.get $m) (i32.and (local.get $sh) (local.get $t))))
      (local.set $m (i32.shl (local.get $m) (i32.const 1)))
      (local.set $r (i32.shr_u (local.get $r) (i32.const 1)))
      (br_if $bit (local.get $r)))
    ;; q = s / 2 holds 24 significand bits (implicit one at bit 24) and the round bit (bit 0).
    ;; The implicit one carries 1 << 23 into the exponent field, hence 126 << 23 = 0x3f000000;
    ;; rounding up may carry into the exponent as well, which is the correct result.
    (local.set $s (i32.shr_u (local.get $s) (i32.const 1)))
    (i32.add
      (i32.add (i32.shr_u (local.get $s) (i32.const 1)) (i32.and (local.get $s) (i32.const 1)))
      (i32.add (i32.const 0x3f000000) (i32.shl (local.get $e) (i32.const 23)))))

  ;; The same recurrence on i64: 53 significand bits plus a round bit, 54 iterations.
  (func $f64_sqrt (export "f64_sqrt") (param $x i64) (result i64)
    (local $e i64) (local $m i64) (local $s i64) (local $r i64) (local $t i64) (local $sh i64)
    (if (i64.ge_u (local.get $x) (i64.const 0x7ff0000000000000))
      (then
        (if (i64.gt_u (i64.and (local.get $x) (i64.const 0x7fffffffffffffff))
                      (i64.const 0x7ff0000000000000))
          (then (return (i64.or (local.get $x) (i64.const 0x0008000000000000)))))
        (return
          (select (local.get $x) (i64.const 0x7ff8000000000000)
            (i32.or (i64.eq (local.get $x) (i64.const 0x7ff0000000000000))
                    (i64.eq (local.get $x) (i64.const 0x8000000000000000)))))))
    (if (i64.eqz (local.get $x)) (then (return (local.get $x))))
    (local.set $e (i64.shr_u (local.get $x) (i64.const 52)))
    (local.set $m (i64.and (local.get $x) (i64.const 0x000fffffffffffff)))
    (if (i64.eqz (local.get $e))
      (then
        (local.set $sh (i64.sub (i64.clz (local.get $m)) (i64.const 11)))
        (local.set $m (i64.shl (local.get $m) (local.get $sh)))
        (local.set $e (i64.sub (i64.const 1) (local.get $sh))))
      (else
        (local.set $m (i64.or (local.get $m) (i64.const 0x0010000000000000)))))
    (local.set $e (i64.sub (local.get $e) (i64.const 1023)))
    (local.set $m (i64.shl (local.get $m) (i64.add (i64.const 1) (i64.and (local.get $e) (i64.const 1)))))
    (local.set $e (i64.shr_s (local.get $e) (i64.const 1)))
    (local.set $r (i64.const 0x0020000000000000))
    (loop $bit
      (local.set $t (i64.add (local.get $s) (local.get $r)))
      (local.set $sh (i64.sub (i64.const 0) (i64.extend_i32_u (i64.le_u (local.get $t) (local.get $m)))))
      (local.set $s (i64.add (local.get $s) (i64.and (local.get $sh) (i64.shl (local.get $r) (i64.const 1)))))
      (local.set $m (i64.sub (local.get $m) (i64.and (local.get $sh) (local.get $t))))
      (local.set $m (i64.shl (local.get $m) (i64.const 1)))
      (local.set $r (i64.shr_u (local.get $r) (i64.const 1)))
      (br_if $bit (i64.ne (local.get $r) (i64.const 0))))
    (local.set $s (i64.shr_u (local.get $s) (i64.const 1)))
    (i64.add
      (i64.add (i64.shr_u (local.get $s) (i64.const 1)) (i64.and (local.get $s) (i64.const 1)))
      (i64.add (i64.const 0x3fe0000000000000) (i64.shl (local.get $e) (i64.const 52)))))

  ;; ---------------------------------------------------------------------------------------------
  ;; Rounding to an integral value
  ;;
  ;; All four share one idea: with s = unbiased exponent, the bits of |x| below the binary point
  ;; are m = 0x7fffff >> s for 0 <= s < 23. Rounding the magnitude up is (x + m) & ~m, whose
  ;; carry into the exponent field is exactly the right result (e.g. 1.5 -> 2.0). For s >= 23
  ;; (large integers, inf, NaN) m = 0 leaves x alone; |x| < 1 (s < 0) has a separate answer
  ;; of +-0 or +-1 chosen with `select`. The sign bit is never touched, so zeros keep their sign.
  ;; NaN gets its quiet bit OR'ed in at the end (isnan << 22).
  ;; ---------------------------------------------------------------------------------------------

  (func $f32_ceil (export "f32_ceil") (param $x i32) (result i32)
    (local $s i32) (local $m i32)
    (local.set $s (i32.sub (i32.and (i32.shr_u (local.get $x) (i32.const 23)) (i32.const 0xff)) (i32.const 127)))
    (local.set $m (select (i32.shr_u (i32.const 0x007fffff) (local.get $s)) (i32.const 0)
                          (i32.lt_u (local.get $s) (i32.const 23))))
    (i32.or
      (select
        ;; |x| < 1: positive non-zero -> 1.0, otherwise a zero of x's sign (ceil(-0.5) = -0).
        (select (i32.const 0x3f800000) (i32.and (local.get $x) (i32.const 0x80000000))
                (i32.gt_s (local.get $x) (i32.const 0)))
        ;; Positive: round the magnitude up (mask is all ones for x >= 0); negative: truncate.
        (i32.and
          (i32.add (local.get $x)
                   (i32.and (local.get $m) (i32.sub (i32.shr_u (local.get $x) (i32.const 31)) (i32.const 1))))
          (i32.xor (local.get $m) (i32.const -1)))
        (i32.lt_s (local.get $s) (i32.const 0)))
      (i32.shl (i32.gt_u (i32.and (local.get $x) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
               (i32.const 22))))

  (func $f32_floor (export "f32_floor") (param $x i32) (result i32)
    (local $s i32) (local $m i32)
    (local.set $s (i32.sub (i32.and (i32.shr_u (local.get $x) (i32.const 23)) (i32.const 0xff)) (i32.const 127)))
    (local.set $m (select (i32.shr_u (i32.const 0x007fffff) (local.get $s)) (i32.const 0)
                          (i32.lt_u (local.get $s) (i32.const 23))))
    (i32.or
      (select
        ;; |x| < 1: negative non-zero -> -1.0, otherwise a zero of x's sign (floor(-0) = -0).
        (select (i32.const 0xbf800000) (i32.and (local.get $x) (i32.const 0x80000000))
                (i32.gt_u (local.get $x) (i32.const 0x80000000)))
        ;; Negative: round the magnitude up (x >>s 31 is all ones); positive: truncate.
        (i32.and
          (i32.add (local.get $x) (i32.and (local.get $m) (i32.shr_s (local.get $x) (i32.const 31))))
          (i32.xor (local.get $m) (i32.const -1)))
        (i32.lt_s (local.get $s) (i32.const 0)))
      (i32.shl (i32.gt_u (i32.and (local.get $x) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
               (i32.const 22))))

  (func $f32_trunc (export "f32_trunc") (param $x i32) (result i32)
    (local $s i32) (local $m i32)
    (local.set $s (i32.sub (i32.and (i32.shr_u (local.get $x) (i32.const 23)) (i32.const 0xff)) (i32.const 127)))
    ;; For |x| < 1 every magnitude bit is fraction, so the mask keeps only the sign.
    (local.set $m
      (select (i32.shr_u (i32.const 0x007fffff) (local.get $s))
              (select (i32.const 0x7fffffff) (i32.const 0) (i32.lt_s (local.get $s) (i32.const 0)))
              (i32.lt_u (local.get $s) (i32.const 23))))
    (i32.or
      (i32.and (local.get $x) (i32.xor (local.get $m) (i32.const -1)))
      (i32.shl (i32.gt_u (i32.and (local.get $x) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
               (i32.const 22))))

  ;; Round half to even: add half an integer minus one ulp, plus one more ulp when the integer
  ;; part is odd, then truncate. The integer lsb is bit m + 1; for s = 0 that is the exponent
  ;; field's lsb, which is 1 for 127, i.e. the implicit one, as it should be. (m << 1) masks the
  ;; odd-test off when m = 0.
  (func $f32_nearest (export "f32_nearest") (param $x i32) (result i32)
    (local $s i32) (local $m i32)
    (local.set $s (i32.sub (i32.and (i32.shr_u (local.get $x) (i32.const 23)) (i32.const 0xff)) (i32.const 127)))
    (local.set $m (select (i32.shr_u (i32.const 0x007fffff) (local.get $s)) (i32.const 0)
                          (i32.lt_u (local.get $s) (i32.const 23))))
    (i32.or
      (select
        ;; |x| < 1: above one half -> +-1, otherwise +-0 (0.5 ties to the even 0).
        (i32.or (i32.and (local.get $x) (i32.const 0x80000000))
                (select (i32.const 0x3f800000) (i32.const 0)
                        (i32.gt_u (i32.and (local.get $x) (i32.const 0x7fffffff)) (i32.const 0x3f000000))))
        (i32.and
          (i32.add
            (i32.add (local.get $x) (i32.shr_u (local.get $m) (i32.const 1)))
            (i32.ne (i32.and (i32.and (local.get $x) (i32.add (local.get $m) (i32.const 1)))
                             (i32.shl (local.get $m) (i32.const 1)))
                    (i32.const 0)))
          (i32.xor (local.get $m) (i32.const -1)))
        (i32.lt_s (local.get $s) (i32.const 0)))
      (i32.shl (i32.gt_u (i32.and (local.get $x) (i32.const 0x7fffffff)) (i32.const 0x7f800000))
               (i32.const 22))))

  ;; f64 versions: the same formulas with 52 fraction bits.

  (func $f64_ceil (export "f64_ceil") (param $x i64) (result i64)
    (local $s i64) (local $m i64)
    (local.set $s (i64.sub (i64.and (i64.shr_u (local.get $x) (i64.const 52)) (i64.const 0x7ff)) (i64.const 1023)))
    (local.set $m (select (i64.shr_u (i64.const 0x000fffffffffffff) (local.get $s)) (i64.const 0)
                          (i64.lt_u (local.get $s) (i64.const 52))))
    (i64.or
      (select
        (select (i64.const 0x3ff0000000000000) (i64.and (local.get $x) (i64.const 0x8000000000000000))
                (i64.gt_s (local.get $x) (i64.const 0)))
        (i64.and
          (i64.add (local.get $x)
                   (i64.and (local.get $m) (i64.sub (i64.shr_u (local.get $x) (i64.const 63)) (i64.const 1))))
          (i64.xor (local.get $m) (i64.const -1)))
        (i64.lt_s (local.get $s) (i64.const 0)))
      (i64.shl (i64.extend_i32_u (i64.gt_u (i64.and (local.get $x) (i64.const 0x7fffffffffffffff))
                                           (i64.const 0x7ff0000000000000)))
               (i64.const 51))))

  (func $f64_floor (export "f64_floor") (param $x i64) (result i64)
    (local $s i64) (local $m i64)
    (local.set $s (i64.sub (i64.and (i64.shr_u (local.get $x) (i64.const 52)) (i64.const 0x7ff)) (i64.const 1023)))
    (local.set $m (select (i64.shr_u (i64.const 0x000fffffffffffff) (local.get $s)) (i64.const 0)
                          (i64.lt_u (local.get $s) (i64.const 52))))
    (i64.or
      (select
        (select (i64.const 0xbff0000000000000) (i64.and (local.get $x) (i64.const 0x8000000000000000))
                (i64.gt_u (local.get $x) (i64.const 0x8000000000000000)))
        (i64.and
          (i64.add (local.get $x) (i64.and (local.get $m) (i64.shr_s (local.get $x) (i64.const 63))))
          (i64.xor (local.get $m) (i64.const -1)))
        (i64.lt_s (local.get $s) (i64.const 0)))
      (i64.shl (i64.extend_i32_u (i64.gt_u (i64.and (local.get $x) (i64.const 0x7fffffffffffffff))
                                           (i64.const 0x7ff0000000000000)))
               (i64.const 51))))

  (func $f64_trunc (export "f64_trunc") (param $x i64) (result i64)
    (local $s i64) (local $m i64)
    (local.set $s (i64.sub (i64.and (i64.shr_u (local.get $x) (i64.const 52)) (i64.const 0x7ff)) (i64.const 1023)))
    (local.set $m
      (select (i64.shr_u (i64.const 0x000fffffffffffff) (local.get $s))
              (select (i64.const 0x7fffffffffffffff) (i64.const 0) (i64.lt_s (local.get $s) (i64.const 0)))
              (i64.lt_u (local.get $s) (i64.const 52))))
    (i64.or
      (i64.and (local.get $x) (i64.xor (local.get $m) (i64.const -1)))
      (i64.shl (i64.extend_i32_u (i64.gt_u (i64.and (local.get $x) (i64.const 0x7fffffffffffffff))
                                           (i64.const 0x7ff0000000000000)))
               (i64.const 51))))

  (func $f64_nearest (export "f64_nearest") (param $x i64) (result i64)
    (local $s i64) (local $m i64)
    (local.set $s (i64.sub (i64.and (i64.shr_u (local.get $x) (i64.const 52)) (i64.const 0x7ff)) (i64.const 1023)))
    (local.set $m (select (i64.shr_u (i64.const 0x000fffffffffffff) (local.get $s)) (i64.const 0)
                          (i64.lt_u (local.get $s) (i64.const 52))))
    (i64.or
      (select
        (i64.or (i64.and (local.get $x) (i64.const 0x8000000000000000))
                (select (i64.const 0x3ff0000000000000) (i64.const 0)
                        (i64.gt_u (i64.and (local.get $x) (i64.const 0x7fffffffffffffff))
                                  (i64.const 0x3fe0000000000000))))
        (i64.and
          (i64.add
            (i64.add (local.get $x) (i64.shr_u (local.get $m) (i64.const 1)))
            (i64.extend_i32_u
              (i64.ne (i64.and (i64.and (local.get $x) (i64.add (local.get $m) (i64.const 1)))
                               (i64.shl (local.get $m) (i64.const 1)))
                      (i64.const 0))))
          (i64.xor (local.get $m) (i64.const -1)))
        (i64.lt_s (local.get $s) (i64.const 0)))
      (i64.shl (i64.extend_i32_u (i64.gt_u (i64.and (local.get $x) (i64.const 0x7fffffffffffffff))
                                           (i64.const 0x7ff0000000000000)))
               (i64.const 51))))

  ;; ---------------------------------------------------------------------------------------------
  ;; min / max
  ;;
  ;; x ^ ((x >>s 31) >>u 1) flips the magnitude bits of negative values, which turns the
  ;; sign-magnitude order of non-NaN floats into the signed integer order, with -0 (key -1)
  ;; just below +0 (key 0): exactly the wasm order for min/max. NaN operands are handled last:
  ;; either NaN wins, quietened (a first, then b).
  ;; ---------------------------------------------------------------------------------------------

  (func $f32_min (export "f32_min") (param $a i32) (param $b i32) (result i32)
    (select
      (i32.or (local.get $a) (i32.const 0x00400000))
      (select
        (i32.or (local.get $b) (i32.const 0x00400000))
        (select (local.get $a) (local.get $b)
          (i32.lt_s
            (i32.xor (local.get $a) (i32.shr_u (i32.shr_s (local.get $a) (i32.const 31)) (i32.const 1)))
            (i32.xor (local.get $b) (i32.shr_u (i32.shr_s (local.get $b) (i32.const 31)) (i32.const 1)))))
        (i32.gt_u (i32.and (local.get $b) (i32.const 0x7fffffff)) (i32.const 0x7f800000)))
      (i32.gt_u (i32.and (local.get $a) (i32.const 0x7fffffff)) (i32.const 0x7f800000))))

  (func $f32_max (export "f32_max") (param $a i32) (param $b i32) (result i32)
    (select
      (i32.or (local.get $a) (i32.const 0x00400000))
      (select
        (i32.or (local.get $b) (i32.const 0x00400000))
        (select (local.get $a) (local.get $b)
          (i32.gt_s
            (i32.xor (local.get $a) (i32.shr_u (i32.shr_s (local.get $a) (i32.const 31)) (i32.const 1)))
            (i32.xor (local.get $b) (i32.shr_u (i32.shr_s (local.get $b) (i32.const 31)) (i32.const 1)))))
        (i32.gt_u (i32.and (local.get $b) (i32.const 0x7fffffff)) (i32.const 0x7f800000)))
      (i32.gt_u (i32.and (local.get $a) (i32.const 0x7fffffff)) (i32.const 0x7f800000))))

  (func $f64_min (export "f64_min") (param $a i64) (param $b i64) (result i64)
    (select
      (i64.or (local.get $a) (i64.const 0x0008000000000000))
      (select
        (i64.or (local.get $b) (i64.const 0x0008000000000000))
        (select (local.get $a) (local.get $b)
          (i64.lt_s
            (i64.xor (local.get $a) (i64.shr_u (i64.shr_s (local.get $a) (i64.const 63)) (i64.const 1)))
            (i64.xor (local.get $b) (i64.shr_u (i64.shr_s (local.get $b) (i64.const 63)) (i64.const 1)))))
        (i64.gt_u (i64.and (local.get $b) (i64.const 0x7fffffffffffffff)) (i64.const 0x7ff0000000000000)))
      (i64.gt_u (i64.and (local.get $a) (i64.const 0x7fffffffffffffff)) (i64.const 0x7ff0000000000000))))

  (func $f64_max (export "f64_max") (param $a i64) (param $b i64) (result i64)
    (select
      (i64.or (local.get $a) (i64.const 0x0008000000000000))
      (select
        (i64.or (local.get $b) (i64.const 0x0008000000000000))
        (select (local.get $a) (local.get $b)
          (i64.gt_s
            (i64.xor (local.get $a) (i64.shr_u (i64.shr_s (local.get $a) (i64.const 63)) (i64.const 1)))
            (i64.xor (local.get $b) (i64.shr_u (i64.shr_s (local.get $b) (i64.const 63)) (i64.const 1)))))
        (i64.gt_u (i64.and (local.get $b) (i64.const 0x7fffffffffffffff)) (i64.const 0x7ff0000000000000)))
      (i64.gt_u (i64.and (local.get $a) (i64.const 0x7fffffffffffffff)) (i64.const 0x7ff0000000000000))))

  ;; ---------------------------------------------------------------------------------------------
  ;; Saturating truncation (trunc_sat): NaN -> 0, out of range -> the nearest bound, otherwise
  ;; toward zero.
  ;;
  ;; The significand is placed left-aligned in the result width with the implicit one at the
  ;; top bit; shifting it right by (bias + width - 1 - exponent) drops exactly the fraction,
  ;; i.e. truncates. Only exponents whose shift lies in [0, width) reach the result: |x| < 1
  ;; selects 0 and the range checks select the bound, so the masked wasm shift count of the
  ;; other cases is harmless. Signed results negate with (v ^ neg) - neg. The trapping
  ;; conversions range-check inline and then call these, so in-range values must be exact.
  ;; ---------------------------------------------------------------------------------------------

  (func $i32_trunc_sat_f32_s (export "i32_trunc_sat_f32_s") (param $x i32) (result i32)
    (local $a i32) (local $neg i32) (local $v i32)
    (local.set $a (i32.and (local.get $x) (i32.const 0x7fffffff)))
    (local.set $neg (i32.shr_s (local.get $x) (i32.const 31)))
    (local.set $v
      (select
        (i32.shr_u (i32.or (i32.shl (local.get $x) (i32.const 8)) (i32.const 0x80000000))
                   (i32.sub (i32.const 158) (i32.shr_u (local.get $a) (i32.const 23))))
        (i32.const 0)
        (i32.ge_u (local.get $a) (i32.const 0x3f800000))))          ;; |x| >= 1
    (local.set $v (i32.sub (i32.xor (local.get $v) (local.get $neg)) (local.get $neg)))
    ;; |x| >= 2^31: INT32_MAX or INT32_MIN (0x7fffffff ^ neg); -2^31 itself lands here too.
    (local.set $v (select (i32.xor (i32.const 0x7fffffff) (local.get $neg)) (local.get $v)
                          (i32.ge_u (local.get $a) (i32.const 0x4f000000))))
    (select (i32.const 0) (local.get $v) (i32.gt_u (local.get $a) (i32.const 0x7f800000))))

  (func $i32_trunc_sat_f32_u (export "i32_trunc_sat_f32_u") (param $x i32) (result i32)
    (local $v i32)
    ;; For positive x the exponent is simply x >> 23; negative x is discarded below.
    (local.set $v
      (select
        (i32.shr_u (i32.or (i32.shl (local.get $x) (i32.const 8)) (i32.const 0x80000000))
                   (i32.sub (i32.const 158) (i32.shr_u (local.get $x) (i32.const 23))))
        (i32.const 0)
        (i32.ge_u (local.get $x) (i32.const 0x3f800000))))          ;; x >= 1
    (local.set $v (select (i32.const -1) (local.get $v)
                          (i32.ge_u (local.get $x) (i32.const 0x4f800000))))   ;; x >= 2^32
    ;; Unsigned above +inf: +NaN and everything with the sign bit set (negatives, -NaN) -> 0.
    (select (i32.const 0) (local.get $v) (i32.gt_u (local.get $x) (i32.const 0x7f800000))))

  ;; f64 -> i32 works on the high word: it holds the exponent and the top 20 fraction bits, and
  ;; the low word only contributes its top 11 bits to a 32-bit result.
  (func $i32_trunc_sat_f64_s (export "i32_trunc_sat_f64_s") (param $x i64) (result i32)
    (local $hi i32) (local $a i32) (local $neg i32) (local $v i32)
    (local.set $hi (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 32))))
    (local.set $a (i32.and (local.get $hi) (i32.const 0x7fffffff)))
    (local.set $neg (i32.shr_s (local.get $hi) (i32.const 31)))
    (local.set $v
      (select
        (i32.shr_u
          (i32.or (i32.or (i32.shl (local.get $hi) (i32.const 11))
                          (i32.shr_u (i32.wrap_i64 (local.get $x)) (i32.const 21)))
                  (i32.const 0x80000000))
          (i32.sub (i32.const 1054) (i32.shr_u (local.get $a) (i32.const 20))))
        (i32.const 0)
        (i32.ge_u (local.get $a) (i32.const 0x3ff00000))))          ;; |x| >= 1
    (local.set $v (i32.sub (i32.xor (local.get $v) (local.get $neg)) (local.get $neg)))
    (local.set $v (select (i32.xor (i32.const 0x7fffffff) (local.get $neg)) (local.get $v)
                          (i32.ge_u (local.get $a) (i32.const 0x41e00000))))   ;; |x| >= 2^31
    (select (i32.const 0) (local.get $v)
            (i64.gt_u (i64.and (local.get $x) (i64.const 0x7fffffffffffffff))
                      (i64.const 0x7ff0000000000000))))

  (func $i32_trunc_sat_f64_u (export "i32_trunc_sat_f64_u") (param $x i64) (result i32)
    (local $hi i32) (local $v i32)
    (local.set $hi (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 32))))
    (local.set $v
      (select
        (i32.shr_u
          (i32.or (i32.or (i32.shl (local.get $hi) (i32.const 11))
                          (i32.shr_u (i32.wrap_i64 (local.get $x)) (i32.const 21)))
                  (i32.const 0x80000000))
          (i32.sub (i32.const 1054) (i32.shr_u (local.get $hi) (i32.const 20))))
        (i32.const 0)
        (i32.ge_u (local.get $hi) (i32.const 0x3ff00000))))         ;; x >= 1
    (local.set $v (select (i32.const -1) (local.get $v)
                          (i32.ge_u (local.get $hi) (i32.const 0x41f00000))))  ;; x >= 2^32
    (select (i32.const 0) (local.get $v) (i64.gt_u (local.get $x) (i64.const 0x7ff0000000000000))))

  (func $i64_trunc_sat_f32_s (export "i64_trunc_sat_f32_s") (param $x i32) (result i64)
    (local $a i32) (local $neg i64) (local $v i64)
    (local.set $a (i32.and (local.get $x) (i32.const 0x7fffffff)))
    (local.set $neg (i64.extend_i32_s (i32.shr_s (local.get $x) (i32.const 31))))
    (local.set $v
      (select
        (i64.shr_u
          (i64.or (i64.shl (i64.extend_i32_u (local.get $x)) (i64.const 40))
                  (i64.const 0x8000000000000000))
          (i64.extend_i32_u (i32.sub (i32.const 190) (i32.shr_u (local.get $a) (i32.const 23)))))
        (i64.const 0)
        (i32.ge_u (local.get $a) (i32.const 0x3f800000))))          ;; |x| >= 1
    (local.set $v (i64.sub (i64.xor (local.get $v) (local.get $neg)) (local.get $neg)))
    (local.set $v (select (i64.xor (i64.const 0x7fffffffffffffff) (local.get $neg)) (local.get $v)
                          (i32.ge_u (local.get $a) (i32.const 0x5f000000))))   ;; |x| >= 2^63
    (select (i64.const 0) (local.get $v) (i32.gt_u (local.get $a) (i32.const 0x7f800000))))

  (func $i64_trunc_sat_f32_u (export "i64_trunc_sat_f32_u") (param $x i32) (result i64)
    (local $v i64)
    (local.set $v
      (select
        (i64.shr_u
          (i64.or (i64.shl (i64.extend_i32_u (local.get $x)) (i64.const 40))
                  (i64.const 0x8000000000000000))
          (i64.extend_i32_u (i32.sub (i32.const 190) (i32.shr_u (local.get $x) (i32.const 23)))))
        (i64.const 0)
        (i32.ge_u (local.get $x) (i32.const 0x3f800000))))          ;; x >= 1
    (local.set $v (select (i64.const -1) (local.get $v)
                          (i32.ge_u (local.get $x) (i32.const 0x5f800000))))   ;; x >= 2^64
    (select (i64.const 0) (local.get $v) (i32.gt_u (local.get $x) (i32.const 0x7f800000))))

  (func $i64_trunc_sat_f64_s (export "i64_trunc_sat_f64_s") (param $x i64) (result i64)
    (local $a i64) (local $neg i64) (local $v i64)
    (local.set $a (i64.and (local.get $x) (i64.const 0x7fffffffffffffff)))
    (local.set $neg (i64.shr_s (local.get $x) (i64.const 63)))
    (local.set $v
      (select
        (i64.shr_u
          (i64.or (i64.shl (local.get $x) (i64.const 11)) (i64.const 0x8000000000000000))
          (i64.sub (i64.const 1086) (i64.shr_u (local.get $a) (i64.const 52))))
        (i64.const 0)
        (i64.ge_u (local.get $a) (i64.const 0x3ff0000000000000))))  ;; |x| >= 1
    (local.set $v (i64.sub (i64.xor (local.get $v) (local.get $neg)) (local.get $neg)))
    (local.set $v (select (i64.xor (i64.const 0x7fffffffffffffff) (local.get $neg)) (local.get $v)
                          (i64.ge_u (local.get $a) (i64.const 0x43e0000000000000))))  ;; |x| >= 2^63
    (select (i64.const 0) (local.get $v) (i64.gt_u (local.get $a) (i64.const 0x7ff0000000000000))))

  (func $i64_trunc_sat_f64_u (export "i64_trunc_sat_f64_u") (param $x i64) (result i64)
    (local $v i64)
    (local.set $v
      (select
        (i64.shr_u
          (i64.or (i64.shl (local.get $x) (i64.const 11)) (i64.const 0x8000000000000000))
          (i64.sub (i64.const 1086) (i64.shr_u (local.get $x) (i64.const 52))))
        (i64.const 0)
        (i64.ge_u (local.get $x) (i64.const 0x3ff0000000000000))))  ;; x >= 1
    (local.set $v (select (i64.const -1) (local.get $v)
                          (i64.ge_u (local.get $x) (i64.const 0x43f0000000000000))))  ;; x >= 2^64
    (select (i64.const 0) (local.get $v) (i64.gt_u (local.get $x) (i64.const 0x7ff0000000000000))))
)
