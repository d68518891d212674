//! The `.ARM.attributes` section ("aeabi" build attributes), matching what clang 14 writes for
//! the same CPU and float ABI (minus the optimization-goal tag, and with unaligned access
//! allowed because wasm accesses are emitted as plain, possibly unaligned, loads and stores).

use crate::options::Target;

/// Does the target have an FPU, and so pass floats in VFP registers (AAPCS-VFP,
/// `-mfloat-abi=hard`)? The attributes and e_flags say so, and linkers refuse to mix such an
/// object with base-convention code.
pub fn hard_float(target: Target) -> bool {
    matches!(target, Target::CortexM4F | Target::CortexM7DP)
}

enum Value {
    Int(u32),
    Text(&'static str),
}

fn uleb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn tags(target: Target) -> Vec<(u32, Value)> {
    use Value::*;
    let (name, arch) = match target {
        Target::CortexM3 => ("cortex-m3", 10),
        Target::CortexM4 | Target::CortexM4F => ("cortex-m4", 13),
        _ => ("cortex-m7", 13),
    };
    let mut t = vec![
        (67, Text("2.09")), // Tag_conformance
        (5, Text(name)),    // Tag_CPU_name
        (6, Int(arch)),     // Tag_CPU_arch: v7 / v7E-M
        (7, Int(b'M' as u32)),
        (8, Int(0)), // Tag_ARM_ISA_use: no ARM state
        (9, Int(2)), // Tag_THUMB_ISA_use: Thumb-2
    ];
    match target {
        Target::CortexM4F => t.push((10, Int(6))), // Tag_FP_arch: VFPv4-D16 (FPv4-SP)
        Target::CortexM7DP => t.push((10, Int(8))), // Tag_FP_arch: FPv5-D16
        _ => {}
    }
    t.extend([
        (14, Int(0)), // Tag_ABI_PCS_R9_use: normal register
        (17, Int(1)), // Tag_ABI_PCS_GOT_use: direct
        (20, Int(1)), // Tag_ABI_FP_denormal
        (21, Int(0)), // Tag_ABI_FP_exceptions
        (23, Int(3)), // Tag_ABI_FP_number_model: IEEE-754
        (24, Int(1)), // Tag_ABI_align_needed: 8-byte
        (25, Int(1)), // Tag_ABI_align_preserved: 8-byte
    ]);
    // No Tag_ABI_PCS_wchar_t / Tag_ABI_enum_size (0: not used): the interface has neither, and
    // a value there makes GNU ld warn against C built with other choices (arm-none-eabi-gcc
    // defaults to short enums), which breaks `--fatal-warnings` builds.
    if target == Target::CortexM4F {
        t.push((27, Int(1))); // Tag_ABI_HardFP_use: single precision
    }
    if hard_float(target) {
        t.push((28, Int(1))); // Tag_ABI_VFP_args: VFP registers
    }
    t.push((34, Int(1))); // Tag_CPU_unaligned_access: v6-style
    if hard_float(target) {
        t.push((36, Int(1))); // Tag_FP_HP_extension
    }
    t.push((38, Int(1))); // Tag_ABI_FP_16bit_format: IEEE
    t.push((44, Int(0))); // Tag_DIV_use: the architecture's (v7-M has SDIV/UDIV)
    t
}

/// The section contents.
pub fn build(target: Target) -> Vec<u8> {
    let mut attrs = Vec::new();
    for (tag, value) in tags(target) {
        uleb(&mut attrs, tag);
        match value {
            Value::Int(v) => uleb(&mut attrs, v),
            Value::Text(s) => {
                attrs.extend_from_slice(s.as_bytes());
                attrs.push(0);
            }
        }
    }
    // Tag_File, its size (tag + size field + attributes), then the attributes.
    let mut file = vec![1u8];
    file.extend_from_slice(&(5 + attrs.len() as u32).to_le_bytes());
    file.extend_from_slice(&attrs);
    let mut sub = Vec::new();
    let vendor = b"aeabi\0";
    sub.extend_from_slice(&((4 + vendor.len() + file.len()) as u32).to_le_bytes());
    sub.extend_from_slice(vendor);
    sub.extend_from_slice(&file);
    let mut out = vec![b'A'];
    out.extend_from_slice(&sub);
    out
}
