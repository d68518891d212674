//! Frames beyond the imm12 reach of sp-relative loads and stores: the code sequences, and whole
//! functions (many live values, kilobytes of stack arguments and results) that disassemble
//! cleanly. Execution is checked by `fixtures/huge_frame.wat` in the differential test.

use super::*;
use crate::isa::arm::regs::{R1, SPARE_SCRATCH};
use crate::isa::arm::tests::check_clean;

pub(super) fn builder(module: &Module) -> Builder<'_> {
    Builder {
        module,
        items: Vec::new(),
        meta: Meta {
            wasm: None,
            kind: LineKind::Code,
            step: None,
        },
        num_blocks: 0,
        trap_labels: BTreeMap::new(),
    }
}

pub(super) fn asms(b: &Builder) -> Vec<Asm> {
    b.items
        .iter()
        .filter_map(|i| match i {
            Item::Inst { asm, .. } => Some(asm.clone()),
            _ => None,
        })
        .collect()
}

/// Runs register-immediate additions on one register; anything else (in particular a use of
/// another register such as ip) fails the test.
fn simulate_adds(insts: &[Asm], reg: PReg, start: u32) -> u32 {
    let mut value = start;
    for asm in insts {
        let (sub, rd, rn, imm) = match asm {
            Asm::AddSubW { sub, rd, rn, imm } => (*sub, *rd, *rn, *imm),
            Asm::DataImm {
                op: op @ (DataOp::Add | DataOp::Sub),
                s: false,
                rd,
                rn,
                imm,
            } => (*op == DataOp::Sub, *rd, *rn, *imm),
            Asm::AdjustSp16 { sub, imm } => (*sub, SP, SP, *imm),
            other => panic!("unexpected `{}`", other.print()),
        };
        assert_eq!((rd, rn), (reg, reg), "`{}`", asm.print());
        super::super::encode::encode(asm).unwrap_or_else(|e| panic!("`{}`: {e}", asm.print()));
        value = if sub {
            value.wrapping_sub(imm)
        } else {
            value.wrapping_add(imm)
        };
    }
    value
}

#[test]
fn large_additions_to_ip_and_sp_use_no_scratch_register() {
    let module = crate::isa::arm::tests::module(
        crate::ir::Signature {
            params: vec![],
            results: vec![],
        },
        vec![],
    );
    let magnitudes: [u32; 9] = [
        4096,
        4104,
        6000,
        8760,
        0x1_0008,
        0x12_3458,
        0xff_fff8,
        0x7fff_fff8,
        0x8000_0000,
    ];
    for m in magnitudes {
        for (reg, imm) in [
            (IP, m),
            (IP, m.wrapping_neg()),
            (SP, m),
            (SP, m.wrapping_neg()),
        ] {
            let mut b = builder(&module);
            b.add_imm(reg, reg, imm);
            let insts = asms(&b);
            assert!(insts.len() <= 4, "{imm:#x}: {insts:?}");
            assert_eq!(
                simulate_adds(&insts, reg, 0x2000_0000),
                0x2000_0000u32.wrapping_add(imm),
                "{imm:#x}: {insts:?}"
            );
        }
    }
    // A frame of 8760 bytes: subw of the low 12 bits, then one modified immediate.
    let mut b = builder(&module);
    b.add_imm(SP, SP, 8760u32.wrapping_neg());
    let text: Vec<String> = asms(&b).iter().map(|a| a.print()).collect();
    assert_eq!(text, ["subw sp, sp, #568", "sub.w sp, sp, #8192"]);
}

#[test]
fn far_stack_accesses_put_the_offset_in_a_register() {
    let module = crate::isa::arm::tests::module(
        crate::ir::Signature {
            params: vec![],
            results: vec![],
        },
        vec![],
    );
    let mut b = builder(&module);
    b.stack_mem(Mem::Ldr, R0, 4092, IP).unwrap();
    b.stack_mem(Mem::Ldr, R0, 4096, IP).unwrap();
    b.stack_mem(Mem::Str, R1, 5000, IP).unwrap();
    b.stack_mem(Mem::Ldr, IP, 0x1_2344, IP).unwrap();
    b.stack_mem(Mem::Str, IP, 4100, SPARE_SCRATCH).unwrap();
    let text: Vec<String> = asms(&b).iter().map(|a| a.print()).collect();
    assert_eq!(
        text,
        [
            "ldr.w r0, [sp, #4092]",
            "mov.w r12, #4096",
            "ldr.w r0, [sp, r12]",
            "movw r12, #5000",
            "str.w r1, [sp, r12]",
            "movw r12, #9028",
            "movt r12, #1",
            "ldr.w r12, [sp, r12]",
            "movw lr, #4100",
            "str.w r12, [sp, lr]",
        ]
    );
    // A store cannot use its own value register for the address.
    assert!(b.stack_mem(Mem::Str, IP, 5000, IP).is_err());
}

fn compile_wat(wat: &str, name: &str, spill_realloc: bool) -> CompiledFunction {
    let mut options = Options::new(crate::options::Target::CortexM4);
    options.spill_realloc = spill_realloc;
    let module = crate::legalized_module(wat.as_bytes(), &options).unwrap();
    let body = module
        .bodies
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| panic!("no function {name}"));
    super::super::compile_function(&module, body, &options)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn texts(c: &CompiledFunction) -> Vec<String> {
    c.listing.iter().map(|l| l.text.clone()).collect()
}

/// `n` locals rotated by one position per loop iteration: the loop's parameters are a
/// permutation of each other, so values move between stack slots.
fn rotate_wat(n: usize) -> String {
    let mut s = String::from(
        "(module (func $rotate (export \"rotate\") (param $n i32) (param $seed i32) (result i32) (local $t i32) (local $acc i32)",
    );
    s += &format!(" (local {})", vec!["i32"; n].join(" "));
    for k in 0..n {
        s += &format!(
            " (local.set {} (i32.mul (local.get $seed) (i32.const {})))",
            4 + k,
            2 * k + 1
        );
    }
    s += " (block $done (loop $again (br_if $done (i32.eqz (local.get $n))) (local.set $t (local.get 4))";
    for k in 0..n - 1 {
        s += &format!(" (local.set {} (local.get {}))", 4 + k, 5 + k);
    }
    s += &format!(
        " (local.set {} (local.get $t)) (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $again)))",
        3 + n
    );
    for k in 0..n {
        s += &format!(
            " (local.set $acc (i32.xor (i32.mul (local.get $acc) (i32.const 31)) (local.get {})))",
            4 + k
        );
    }
    s + " (local.get $acc)))"
}

#[test]
fn far_stack_to_stack_moves_address_through_the_saved_spare_register() {
    // (The baseline allocator makes the same moves; the differential test runs both.)
    {
        let c = compile_wat(&rotate_wat(1040), "rotate", true);
        assert!(c.stats.frame_size > 4096, "{:?}", c.stats);
        let t = texts(&c);
        assert!(t.iter().any(|l| l == "str.w r12, [sp, lr]"), "{t:#?}");
        assert!(t.iter().any(|l| l.starts_with("ldr.w r12, [sp, r12]")));
        // lr is the spare: saved and restored through pc, never allocated to a value.
        assert!(t.iter().any(|l| l.starts_with("push") && l.contains("lr")));
        assert!(t.iter().any(|l| l.starts_with("pop") && l.contains("pc")));
        assert!(!t.iter().any(|l| l.contains(", lr,") || l.ends_with(", lr")));
        check_clean(&c);
    }
    // Small frames keep lr allocatable and never take the large-frame path.
    let c = compile_wat(&rotate_wat(20), "rotate", true);
    assert!(c.stats.frame_size < 4096);
    assert!(!texts(&c).iter().any(|l| l.contains("[sp, r12]")));
}

#[test]
fn large_frames_check_the_stack_limit_with_the_whole_frame_and_the_guard() {
    let c = compile_wat(&rotate_wat(1040), "rotate", true);
    let t = texts(&c);
    let push = t.iter().position(|l| l.starts_with("push")).unwrap();
    let saved = t[push].matches(", ").count() as u32 + 1;
    let total = c.stats.frame_size + 4 * saved;
    assert!(total > 4096);
    // limit + total in ip by pieces, compared with sp before anything is written below it.
    let immediate = |l: &String| l.rsplit('#').next().unwrap().parse::<u32>().unwrap();
    let added: u32 = t[..push]
        .iter()
        .filter(|l| l.starts_with("add"))
        .map(immediate)
        .sum();
    assert_eq!(added, total + crate::isa::STACK_GUARD, "{t:#?}");
    assert!(t[..push].iter().any(|l| l == "cmp sp, r12"));
    // sp drops by the frame after the push and rises by it before the pop.
    let drop = t[push + 1..]
        .iter()
        .take_while(|l| l.starts_with("sub"))
        .map(immediate)
        .sum::<u32>();
    assert_eq!(drop, c.stats.frame_size);
    check_clean(&c);
}

#[test]
fn kilobytes_of_stack_arguments_and_results_compile_cleanly() {
    // 600 i64 parameters: the callee reads them up to 4.8 KiB above its frame; the caller
    // stores them beyond imm12; 600 i64 results go through a 4.8 KiB hidden result area.
    let n = 600;
    let params = vec!["i64"; n].join(" ");
    let mut wat = format!("(module (func $callee (param {params}) (result i64) (local $acc i64)");
    for k in 0..n {
        wat += &format!(
            " (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 5)) (local.get {k})))"
        );
    }
    wat += " (local.get $acc))";
    wat += " (func $caller (export \"caller\") (param $a i64) (result i64) (call $callee";
    for k in 0..n {
        wat += &format!(" (i64.add (local.get $a) (i64.const {k}))");
    }
    wat += "))";
    wat += &format!(" (func $spread (param $a i64) (result {params})");
    for k in 0..n {
        wat += &format!(" (i64.add (local.get $a) (i64.const {k}))");
    }
    wat += ") (func $gather (export \"gather\") (param $a i64) (result i64) (call $spread (local.get $a))";
    wat += &" i64.xor".repeat(n - 1);
    wat += "))";
    for name in ["callee", "caller", "spread", "gather"] {
        let c = compile_wat(&wat, name, true);
        let t = texts(&c);
        let far = match name {
            // Incoming arguments and outgoing arguments / results relative to sp.
            "callee" => "[sp, r12]",
            "caller" | "gather" => "[sp, r12]",
            // Stores through the hidden result pointer beyond imm12.
            _ => ", r12]",
        };
        assert!(t.iter().any(|l| l.contains(far)), "{name}: {t:#?}");
        check_clean(&c);
    }
}

#[test]
fn internal_leaves_rely_on_the_guard_their_callers_check() {
    let wat = crate::isa::leaf_module();
    let checks = |t: &[String]| t.iter().any(|l| l.contains("__synth_stack_limit"));
    let leaf = texts(&compile_wat(&wat, "leaf", true));
    assert!(leaf.iter().any(|l| l.starts_with("push")), "{leaf:#?}");
    assert!(!checks(&leaf), "an internal leaf checks: {leaf:#?}");
    let exported = texts(&compile_wat(&wat, "g", true));
    assert!(
        checks(&exported),
        "an exported leaf does not check: {exported:#?}"
    );
    // The caller checks its frame plus the guard.
    let c = compile_wat(&wat, "f", true);
    let caller = texts(&c);
    let push = caller.iter().position(|l| l.starts_with("push")).unwrap();
    let saved = caller[push].matches(", ").count() as u32 + 1;
    let total = c.stats.frame_size + 4 * saved;
    let wanted = format!("add.w r12, r12, #{}", total + crate::isa::STACK_GUARD);
    assert!(caller[..push].contains(&wanted), "{caller:#?}");
}
