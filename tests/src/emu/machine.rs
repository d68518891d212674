//! One emulated Cortex-M or RV32 core with a linked image loaded.
//!
//! The core is the platform's unicorn model (`Platform::cpu`), with its FPU enabled where the
//! target has one. Arguments and results follow the platform's float convention (soft: floats
//! in core registers like integers; hard: FPU registers), see `abi`.
//!
//! Calls run with unicorn "exits" at the harness stubs (return, `synth_trap`, imports), so no
//! per-instruction hook is needed. A block hook counts executed instructions (exactly: each
//! block's instructions are decoded once from their lengths) and enforces the limit.

use synth_compiler::{Isa, Target};
use unicorn_engine::{
    Arch, ArmCpuModel, Mode, Prot, RegisterARM, RegisterRISCV, Riscv32CpuModel, Unicorn,
};

use super::abi::{self, FloatAbi, Slot};
use super::link::{self, LinkedImage, RAM_BASE, REGION_ALIGN, STACK_LIMIT, STACK_SIZE};
use super::platform::{Cpu, Platform};
use crate::wasm_info::{ImportedFunction, Signature, ValType, Value};
use crate::{HarnessError, Outcome, mock_import_results};

/// Default bound on instructions per call: far above any fixture, low enough that a runaway
/// loop fails in seconds.
pub const DEFAULT_INSTRUCTION_LIMIT: u64 = 200_000_000;

/// State the block hook shares with the machine.
#[derive(Debug, Default)]
pub struct RunState {
    instructions: u64,
    limit: u64,
    limit_hit: bool,
    /// Executed instructions per block start address, when `SYNTH_EMU_PROFILE` names a
    /// directory (written there, by function, when the machine is dropped).
    profile: Option<std::collections::HashMap<u64, u64>>,
}

/// What a call did: its outcome and how many instructions it executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallResult {
    pub outcome: Outcome,
    pub instructions: u64,
}

/// Writes the profile (see `RunState::profile`): executed instructions per function and per
/// block (`function+offset`), most first, to a new file in `$SYNTH_EMU_PROFILE`.
impl Drop for Machine {
    fn drop(&mut self) {
        let (Some(dir), Some(profile)) = (
            std::env::var_os("SYNTH_EMU_PROFILE"),
            self.uc.get_data_mut().profile.take(),
        ) else {
            return;
        };
        let mut functions: Vec<(u32, &str)> = self
            .image
            .symbols
            .iter()
            .filter(|(_, a)| **a < self.image.code_end)
            .map(|(n, a)| (*a & !1, n.as_str()))
            .collect();
        functions.sort();
        let name_of =
            |address: u64| match functions.partition_point(|(a, _)| u64::from(*a) <= address) {
                0 => ("?".to_string(), address),
                i => (
                    functions[i - 1].1.to_string(),
                    address - u64::from(functions[i - 1].0),
                ),
            };
        let mut by_function = std::collections::BTreeMap::<String, u64>::new();
        let mut blocks: Vec<(u64, String)> = Vec::new();
        for (address, count) in &profile {
            let (name, offset) = name_of(*address);
            *by_function.entry(name.clone()).or_insert(0) += count;
            blocks.push((*count, format!("{name}+{offset:#x}")));
        }
        let mut text = String::new();
        let mut functions: Vec<_> = by_function.into_iter().map(|(n, c)| (c, n)).collect();
        functions.sort_by(|a, b| b.cmp(a));
        blocks.sort_by(|a, b| b.cmp(a));
        for (count, name) in functions.iter().chain(&blocks) {
            text.push_str(&format!("{count:>10} {name}\n"));
        }
        let total: u64 = profile.values().sum();
        static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::path::Path::new(&dir).join(format!(
            "{}-{sequence}-{:?}-{total}.txt",
            std::process::id(),
            self.isa
        ));
        let _ = std::fs::write(path, text);
    }
}

impl Machine {
    /// The instructions the profile counted so far (`SYNTH_EMU_PROFILE`), if it is on: the
    /// total its file will be named by.
    pub fn profile_total(&self) -> Option<u64> {
        self.uc
            .get_data()
            .profile
            .as_ref()
            .map(|p| p.values().sum())
    }
}

pub struct Machine {
    uc: Unicorn<'static, RunState>,
    isa: Isa,
    platform: Platform,
    image: LinkedImage,
    imports: Vec<ImportedFunction>,
    initial_ram: Vec<u8>,
    pub instruction_limit: u64,
    /// Canary zones and read-only ranges checked after calls (`enable_isolation_check`).
    isolation: Option<Isolation>,
}

/// RAM the module must never change: canary zones (everything outside the stack, the limit word
/// and the image's sections, plus a guard region after RAM) and the read-only ranges
/// (`.rodata`, the stack-limit word), each as `(name, start, end)`.
#[derive(Clone, Debug, Default)]
struct Isolation {
    zones: Vec<(String, u32, u32)>,
}

/// Size of the guard region mapped after RAM when the isolation check is on.
pub const GUARD_SIZE: u32 = REGION_ALIGN;

/// The canary byte at `address` (varies with the address, so a copied block shows up too).
pub fn canary_byte(address: u32) -> u8 {
    (address as u8).wrapping_mul(0x1d) ^ 0xa5
}

/// Registers r0–r3 / a0–a7.
fn argument_register(isa: Isa, index: usize) -> i32 {
    const ARM: [RegisterARM; 4] = [
        RegisterARM::R0,
        RegisterARM::R1,
        RegisterARM::R2,
        RegisterARM::R3,
    ];
    const RV: [RegisterRISCV; 8] = [
        RegisterRISCV::X10,
        RegisterRISCV::X11,
        RegisterRISCV::X12,
        RegisterRISCV::X13,
        RegisterRISCV::X14,
        RegisterRISCV::X15,
        RegisterRISCV::X16,
        RegisterRISCV::X17,
    ];
    match isa {
        Isa::Arm => ARM[index] as i32,
        Isa::Rv32 => RV[index] as i32,
    }
}

/// Callee-saved registers with their names, checked after every call.
fn callee_saved(isa: Isa) -> Vec<(i32, &'static str)> {
    match isa {
        Isa::Arm => vec![
            (RegisterARM::R4 as i32, "r4"),
            (RegisterARM::R5 as i32, "r5"),
            (RegisterARM::R6 as i32, "r6"),
            (RegisterARM::R7 as i32, "r7"),
            (RegisterARM::R8 as i32, "r8"),
            (RegisterARM::R9 as i32, "r9"),
            (RegisterARM::R10 as i32, "r10"),
            (RegisterARM::R11 as i32, "r11"),
        ],
        Isa::Rv32 => vec![
            (RegisterRISCV::X8 as i32, "s0"),
            (RegisterRISCV::X9 as i32, "s1"),
            (RegisterRISCV::X18 as i32, "s2"),
            (RegisterRISCV::X19 as i32, "s3"),
            (RegisterRISCV::X20 as i32, "s4"),
            (RegisterRISCV::X21 as i32, "s5"),
            (RegisterRISCV::X22 as i32, "s6"),
            (RegisterRISCV::X23 as i32, "s7"),
            (RegisterRISCV::X24 as i32, "s8"),
            (RegisterRISCV::X25 as i32, "s9"),
            (RegisterRISCV::X26 as i32, "s10"),
            (RegisterRISCV::X27 as i32, "s11"),
        ],
    }
}

/// FPU argument register `index`: s_index (Arm) or fa_index (RV32).
fn float_register(isa: Isa, index: usize) -> i32 {
    match isa {
        Isa::Arm => RegisterARM::S0 as i32 + index as i32,
        Isa::Rv32 => RegisterRISCV::F10 as i32 + index as i32,
    }
}

/// Callee-saved FPU registers (32-bit views) with their names: s16–s31 (d8–d15) on Arm with
/// any FPU, fs0–fs11 on RV32 with the hard-float convention.
fn callee_saved_float(platform: &Platform) -> Vec<(i32, String)> {
    if !platform.has_fpu() {
        return Vec::new();
    }
    match platform.isa {
        Isa::Arm => (16..32)
            .map(|s| (RegisterARM::S0 as i32 + s, format!("s{s}")))
            .collect(),
        Isa::Rv32 if platform.float_abi == FloatAbi::Hard => [8, 9]
            .into_iter()
            .chain(18..28)
            .enumerate()
            .map(|(k, f)| (RegisterRISCV::F0 as i32 + f, format!("fs{k}")))
            .collect(),
        Isa::Rv32 => Vec::new(),
    }
}

fn stack_pointer(isa: Isa) -> i32 {
    match isa {
        Isa::Arm => RegisterARM::SP as i32,
        Isa::Rv32 => RegisterRISCV::X2 as i32,
    }
}

fn program_counter(isa: Isa) -> i32 {
    match isa {
        Isa::Arm => RegisterARM::PC as i32,
        Isa::Rv32 => RegisterRISCV::PC as i32,
    }
}

fn link_register(isa: Isa) -> i32 {
    match isa {
        Isa::Arm => RegisterARM::LR as i32,
        Isa::Rv32 => RegisterRISCV::X1 as i32,
    }
}

/// Instruction length from its first halfword: Thumb-2 32-bit encodings start with 0b111xx
/// (xx != 00); RV32 32-bit encodings have both low bits set.
fn instruction_length(isa: Isa, first_halfword: u16) -> u32 {
    match isa {
        Isa::Arm if first_halfword >> 11 >= 0b11101 => 4,
        Isa::Rv32 if first_halfword & 3 == 3 => 4,
        _ => 2,
    }
}

fn count_instructions(isa: Isa, code: &[u8]) -> u64 {
    let mut offset = 0usize;
    let mut count = 0u64;
    while offset + 1 < code.len() {
        let halfword = u16::from_le_bytes([code[offset], code[offset + 1]]);
        offset += instruction_length(isa, halfword) as usize;
        count += 1;
    }
    count
}

fn uc_err(what: &str) -> impl Fn(unicorn_engine::uc_error) -> HarnessError + '_ {
    move |e| HarnessError::new(format!("unicorn: {what}: {e:?}"))
}

const CANARY_BASE: u32 = 0xc0de_0400;
/// Canaries of the callee-saved FPU registers: ordinary normal floats, distinct per register.
const FLOAT_CANARY_BASE: u32 = 0x4b1d_0100;
const XPSR_THUMB: u32 = 1 << 24;
/// CPSR (A-profile): mode and A/I/F mask bits kept, Thumb state set, flags and IT cleared.
const CPSR_KEEP: u32 = 0x1df;
const CPSR_THUMB: u32 = 1 << 5;
/// CPACR: full access to cp10 and cp11 (the VFP).
const CPACR_VFP_FULL_ACCESS: u32 = 0xf << 20;
const FPEXC_EN: u32 = 1 << 30;
/// mstatus.FS = Initial: F/D instructions are enabled.
const MSTATUS_FS_INITIAL: u64 = 1 << 13;
/// A single-precision value in a 64-bit RV32 FPU register is NaN-boxed.
const NAN_BOX: u64 = 0xffff_ffff_0000_0000;

/// Open unicorn with the platform's CPU model and enable its FPU.
fn open_cpu(platform: &Platform) -> Result<Unicorn<'static, RunState>, HarnessError> {
    let arm_m = |model: ArmCpuModel| -> Result<Unicorn<'static, RunState>, HarnessError> {
        let mut uc =
            Unicorn::new_with_data(Arch::ARM, Mode::THUMB | Mode::MCLASS, RunState::default())
                .map_err(uc_err("open"))?;
        uc.ctl_set_cpu_model(model as i32)
            .map_err(uc_err("select CPU model"))?;
        Ok(uc)
    };
    let rv = |model: Riscv32CpuModel| -> Result<Unicorn<'static, RunState>, HarnessError> {
        let mut uc = Unicorn::new_with_data(Arch::RISCV, Mode::RISCV32, RunState::default())
            .map_err(uc_err("open"))?;
        uc.ctl_set_cpu_model(model as i32)
            .map_err(uc_err("select CPU model"))?;
        Ok(uc)
    };
    match (platform.isa, platform.cpu) {
        // The M-profile models come out of reset with their FPU (if any) enabled.
        (Isa::Arm, Cpu::CortexM3) => arm_m(ArmCpuModel::CORTEX_M3),
        (Isa::Arm, Cpu::CortexM4) => arm_m(ArmCpuModel::CORTEX_M4),
        (Isa::Arm, Cpu::CortexM7) => arm_m(ArmCpuModel::CORTEX_M7),
        (Isa::Arm, Cpu::ArmMax) => {
            let mut uc = Unicorn::new_with_data(Arch::ARM, Mode::THUMB, RunState::default())
                .map_err(uc_err("open"))?;
            uc.ctl_set_cpu_model(ArmCpuModel::MAX as i32)
                .map_err(uc_err("select CPU model"))?;
            let cpacr = uc
                .reg_read(RegisterARM::C1_C0_2)
                .map_err(uc_err("read CPACR"))?;
            uc.reg_write(
                RegisterARM::C1_C0_2,
                cpacr | u64::from(CPACR_VFP_FULL_ACCESS),
            )
            .map_err(uc_err("write CPACR"))?;
            uc.reg_write(RegisterARM::FPEXC, u64::from(FPEXC_EN))
                .map_err(uc_err("write FPEXC"))?;
            Ok(uc)
        }
        (Isa::Rv32, Cpu::SifiveE31) => rv(Riscv32CpuModel::SIFIVE_E31),
        (Isa::Rv32, Cpu::SifiveU34) => {
            let mut uc = rv(Riscv32CpuModel::SIFIVE_U34)?;
            let mstatus = uc
                .reg_read(RegisterRISCV::MSTATUS)
                .map_err(uc_err("read mstatus"))?;
            uc.reg_write(RegisterRISCV::MSTATUS, mstatus | MSTATUS_FS_INITIAL)
                .map_err(uc_err("write mstatus"))?;
            Ok(uc)
        }
        (isa, cpu) => Err(HarnessError::new(format!(
            "platform {}: CPU {cpu:?} is not a {isa:?} core",
            platform.name
        ))),
    }
}

impl Machine {
    /// Create an emulator for `target` with `image` loaded. `imports` are the functions whose
    /// stubs `image` was linked with, in the same order; each behaves as the mock import.
    pub fn new(
        target: Target,
        image: LinkedImage,
        imports: &[ImportedFunction],
    ) -> Result<Machine, HarnessError> {
        Self::on(&Platform::of(target), image, imports)
    }

    /// Create an emulator for an explicit platform (e.g. with the hard-float convention).
    pub fn on(
        platform: &Platform,
        image: LinkedImage,
        imports: &[ImportedFunction],
    ) -> Result<Machine, HarnessError> {
        let isa = platform.isa;
        if isa != image.isa {
            return Err(HarnessError::new("the image was linked for another ISA"));
        }
        if image.stub_count as usize != imports.len() + 2 {
            return Err(HarnessError::new(
                "the image was linked with a different number of import stubs",
            ));
        }
        let mut uc = open_cpu(platform)?;

        let code_base = link::CODE_BASE;
        let code_size = (image.code_end - code_base).next_multiple_of(REGION_ALIGN);
        let ram_size = (image.ram_end - RAM_BASE).next_multiple_of(REGION_ALIGN);
        uc.mem_map(code_base as u64, code_size as u64, Prot::READ | Prot::EXEC)
            .map_err(uc_err("map code"))?;
        uc.mem_map(RAM_BASE as u64, ram_size as u64, Prot::READ | Prot::WRITE)
            .map_err(uc_err("map RAM"))?;

        // Code: segments, then the stub area filled with undefined instructions (never executed:
        // every stub is an exit).
        let mut code = vec![0u8; code_size as usize];
        let mut initial_ram = vec![0u8; ram_size as usize];
        let undefined: [u8; 2] = match isa {
            Isa::Arm => 0xdedeu16.to_le_bytes(),
            Isa::Rv32 => [0, 0],
        };
        let stub_start = (image.stub_base - code_base) as usize;
        let stub_end = stub_start + (image.stub_count * link::STUB_SPACING) as usize;
        for pair in code[stub_start..stub_end].chunks_mut(2) {
            pair.copy_from_slice(&undefined);
        }
        for segment in &image.segments {
            let (region, base) = if segment.address >= RAM_BASE {
                (&mut initial_ram, RAM_BASE)
            } else {
                (&mut code, code_base)
            };
            let start = (segment.address - base) as usize;
            let end = start + segment.bytes.len();
            region
                .get_mut(start..end)
                .ok_or_else(|| HarnessError::new("a segment does not fit its region"))?
                .copy_from_slice(&segment.bytes);
        }
        let limit_word = (image.symbol("__synth_stack_limit")? - RAM_BASE) as usize;
        initial_ram[limit_word..limit_word + 4].copy_from_slice(&STACK_LIMIT.to_le_bytes());
        uc.mem_write(code_base as u64, &code)
            .map_err(uc_err("load code"))?;

        if std::env::var_os("SYNTH_EMU_PROFILE").is_some() {
            uc.get_data_mut().profile = Some(Default::default());
        }
        // Instruction count per block start, indexed by halfword offset into the code region
        // (0 = not yet decoded); blocks are decoded once, then counting is one lookup.
        let mut block_counts: Vec<u32> = vec![0; code.len() / 2];
        uc.add_block_hook(1, 0, move |uc, address, size| {
            let start = address.wrapping_sub(code_base as u64) as usize;
            let count = match block_counts.get_mut(start / 2) {
                Some(cached) => {
                    if *cached == 0 {
                        let end = (start + size as usize).min(code.len());
                        *cached =
                            count_instructions(isa, code.get(start..end).unwrap_or(&[])) as u32;
                    }
                    u64::from(*cached)
                }
                // Outside the code region: execution faults there anyway.
                None => 0,
            };
            let state = uc.get_data_mut();
            state.instructions += count;
            if let Some(profile) = &mut state.profile {
                *profile.entry(address).or_insert(0) += count;
            }
            if state.instructions > state.limit {
                state.limit_hit = true;
                let _ = uc.emu_stop();
            }
        })
        .map_err(uc_err("add block hook"))?;

        uc.ctl_exits_enable().map_err(uc_err("enable exits"))?;
        let mut exits = vec![image.return_stub() as u64, image.trap_stub() as u64];
        exits.extend((0..imports.len()).map(|i| image.import_stub(i) as u64));
        uc.ctl_set_exits(&exits).map_err(uc_err("set exits"))?;

        let mut machine = Machine {
            uc,
            isa,
            platform: *platform,
            image,
            imports: imports.to_vec(),
            initial_ram,
            instruction_limit: DEFAULT_INSTRUCTION_LIMIT,
            isolation: None,
        };
        machine.reset()?;
        Ok(machine)
    }

    pub fn image(&self) -> &LinkedImage {
        &self.image
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Restore RAM to the freshly loaded image (data, zeroed bss, stack limit word).
    pub fn reset(&mut self) -> Result<(), HarnessError> {
        self.uc
            .mem_write(RAM_BASE as u64, &self.initial_ram)
            .map_err(uc_err("reset RAM"))
    }

    /// Turn on the isolation check: map a guard region after RAM, fill every byte of RAM the
    /// module has no business writing (below `__synth_stack_limit`, gaps between sections, the
    /// rest of the last RAM page, the guard) with a canary, and let `check_isolation` verify
    /// after a call that none of it, nor `.rodata` and the stack-limit word, changed. Off by
    /// default: it costs a reset of the larger RAM image and a read-back per call.
    pub fn enable_isolation_check(&mut self) -> Result<(), HarnessError> {
        if self.isolation.is_some() {
            return Ok(());
        }
        let ram_size = self.initial_ram.len() as u32;
        self.uc
            .mem_map(
                u64::from(RAM_BASE + ram_size),
                u64::from(GUARD_SIZE),
                Prot::READ | Prot::WRITE,
            )
            .map_err(uc_err("map the guard region"))?;
        let end = RAM_BASE + ram_size + GUARD_SIZE;
        self.initial_ram.resize((ram_size + GUARD_SIZE) as usize, 0);
        // What the module may write: the stack above the limit and the image's sections.
        let mut owned: Vec<(u32, u32)> = vec![(STACK_LIMIT, RAM_BASE + STACK_SIZE)];
        let mut zones = vec![("stack-limit word".to_string(), RAM_BASE, RAM_BASE + 4)];
        for section in &self.image.ram_sections {
            let range = (section.address, section.address + section.size);
            owned.push(range);
            if !section.writable {
                zones.push((section.name.clone(), range.0, range.1));
            }
        }
        owned.push((RAM_BASE, RAM_BASE + 4));
        owned.sort();
        let mut at = RAM_BASE;
        let mut canaries = Vec::new();
        for (start, stop) in owned.into_iter().chain([(end, end)]) {
            if start > at {
                canaries.push((at, start));
            }
            at = at.max(stop);
        }
        for (start, stop) in canaries {
            for address in start..stop {
                self.initial_ram[(address - RAM_BASE) as usize] = canary_byte(address);
            }
            let name = if stop <= STACK_LIMIT {
                "below the stack limit".to_string()
            } else if start >= RAM_BASE + ram_size {
                "guard region after RAM".to_string()
            } else {
                "outside every section".to_string()
            };
            zones.push((name, start, stop));
        }
        self.isolation = Some(Isolation { zones });
        self.reset()
    }

    /// With the isolation check on: the first zone whose bytes differ from the loaded image,
    /// as a readable message (`None` when nothing changed or the check is off).
    pub fn check_isolation(&self) -> Result<Option<String>, HarnessError> {
        let Some(isolation) = &self.isolation else {
            return Ok(None);
        };
        for (name, start, stop) in &isolation.zones {
            let now = self.read_bytes(*start, stop - start)?;
            let before = &self.initial_ram[(start - RAM_BASE) as usize..(stop - RAM_BASE) as usize];
            if now == before {
                continue;
            }
            let changed: Vec<usize> = (0..now.len()).filter(|&k| now[k] != before[k]).collect();
            if let (Some(first), Some(last)) = (changed.first(), changed.last()) {
                return Ok(Some(format!(
                    "{} bytes changed in {name} (0x{start:08x}..0x{stop:08x}), from 0x{:08x} to \
                     0x{:08x}",
                    changed.len(),
                    *start + *first as u32,
                    *start + *last as u32
                )));
            }
        }
        Ok(None)
    }

    pub fn read_bytes(&self, address: u32, length: u32) -> Result<Vec<u8>, HarnessError> {
        self.uc
            .mem_read_as_vec(address as u64, length as usize)
            .map_err(|e| {
                HarnessError::new(format!(
                    "cannot read {length} bytes at 0x{address:08x}: {e:?}"
                ))
            })
    }

    pub fn read_u32(&self, address: u32) -> Result<u32, HarnessError> {
        let bytes = self.read_bytes(address, 4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A value of type `ty` stored little-endian at `address`.
    pub fn read_value(&self, address: u32, ty: ValType) -> Result<Value, HarnessError> {
        let low = u64::from(self.read_u32(address)?);
        let high = match ty.size() {
            8 => u64::from(self.read_u32(address + 4)?),
            _ => 0,
        };
        Ok(Value::from_bits(ty, low | high << 32))
    }

    fn write_bytes(&mut self, address: u32, bytes: &[u8]) -> Result<(), HarnessError> {
        self.uc.mem_write(address as u64, bytes).map_err(|e| {
            HarnessError::new(format!(
                "cannot write {} bytes at 0x{address:08x}: {e:?}",
                bytes.len()
            ))
        })
    }

    fn reg_read(&self, register: i32) -> Result<u32, HarnessError> {
        self.uc
            .reg_read(register)
            .map(|v| v as u32)
            .map_err(uc_err("read register"))
    }

    fn reg_write(&mut self, register: i32, value: u32) -> Result<(), HarnessError> {
        self.uc
            .reg_write(register, value as u64)
            .map_err(uc_err("write register"))
    }

    /// Write a 32-bit value to an FPU register (NaN-boxed in RV32's 64-bit registers).
    fn float_reg_write(&mut self, register: i32, value: u32) -> Result<(), HarnessError> {
        let raw = match self.isa {
            Isa::Arm => u64::from(value),
            Isa::Rv32 => NAN_BOX | u64::from(value),
        };
        self.uc
            .reg_write(register, raw)
            .map_err(uc_err("write FPU register"))
    }

    fn read_slot(&self, slot: Slot, sp: u32) -> Result<u32, HarnessError> {
        match slot {
            Slot::Register(index) => self.reg_read(argument_register(self.isa, index)),
            Slot::Stack(offset) => self.read_u32(sp + offset),
            Slot::FloatRegister(index) => self.reg_read(float_register(self.isa, index)),
        }
    }

    fn write_slot(&mut self, slot: Slot, sp: u32, value: u32) -> Result<(), HarnessError> {
        match slot {
            Slot::Register(index) => self.reg_write(argument_register(self.isa, index), value),
            Slot::Stack(offset) => self.write_bytes(sp + offset, &value.to_le_bytes()),
            Slot::FloatRegister(index) => {
                self.float_reg_write(float_register(self.isa, index), value)
            }
        }
    }

    /// A value of type `ty` from its slots (one per word, low word first).
    fn read_slots(&self, ty: ValType, slots: &[Slot], sp: u32) -> Result<Value, HarnessError> {
        let mut bits = 0u64;
        for (k, slot) in slots.iter().enumerate().take(ty.size() as usize / 4) {
            bits |= u64::from(self.read_slot(*slot, sp)?) << (32 * k);
        }
        Ok(Value::from_bits(ty, bits))
    }

    fn write_slots(&mut self, value: Value, slots: &[Slot], sp: u32) -> Result<(), HarnessError> {
        let bits = value.bits();
        for (k, slot) in slots.iter().enumerate() {
            self.write_slot(*slot, sp, (bits >> (32 * k)) as u32)?;
        }
        Ok(())
    }

    /// The platform's float convention for argument layouts and results.
    fn layout(&self, params: &[ValType], hidden: bool) -> abi::ArgumentLayout {
        abi::argument_layout(self.isa, self.platform.float_abi, params, hidden)
    }

    fn result_slots(&self, ty: ValType) -> Vec<Slot> {
        abi::result_slots(self.isa, self.platform.float_abi, ty)
    }

    /// Call the function at `symbol` with the wasm signature `sig` (docs/ABI.md convention).
    /// Traps are outcomes; faults, the instruction limit and ABI violations are errors.
    pub fn call(
        &mut self,
        symbol: &str,
        sig: &Signature,
        args: &[Value],
    ) -> Result<CallResult, HarnessError> {
        let entry = self.image.symbol(symbol)?;
        if args.len() != sig.params.len() || args.iter().zip(&sig.params).any(|(a, t)| a.ty() != *t)
        {
            return Err(HarnessError::new(format!(
                "arguments {args:?} do not match the parameters {:?} of `{symbol}`",
                sig.params
            )));
        }
        let hidden = abi::uses_hidden_result_pointer(&sig.results);
        let layout = self.layout(&sig.params, hidden);
        let (field_offsets, struct_size) = abi::result_struct_layout(&sig.results);
        let stack_top = RAM_BASE + STACK_SIZE;
        let result_struct = stack_top - struct_size.next_multiple_of(16);
        let sp = (result_struct - layout.stack_bytes) & !15;

        let values = hidden
            .then_some(Value::I32(result_struct as i32))
            .into_iter()
            .chain(args.iter().copied());
        for (value, slots) in values.zip(&layout.words) {
            self.write_slots(value, slots, sp)?;
        }
        let saved = callee_saved(self.isa);
        for (index, (register, _)) in saved.iter().enumerate() {
            self.reg_write(*register, CANARY_BASE + index as u32)?;
        }
        let saved_float = callee_saved_float(&self.platform);
        for (index, (register, _)) in saved_float.iter().enumerate() {
            self.float_reg_write(*register, FLOAT_CANARY_BASE + index as u32)?;
        }
        self.reg_write(stack_pointer(self.isa), sp)?;
        self.reset_status()?;
        let thumb = u32::from(self.isa == Isa::Arm);
        self.reg_write(link_register(self.isa), self.image.return_stub() | thumb)?;

        {
            let state = self.uc.get_data_mut();
            state.instructions = 0;
            state.limit = self.instruction_limit;
            state.limit_hit = false;
        }
        let mut resume_at = entry | thumb;
        let outcome = loop {
            let run = self.uc.emu_start(resume_at as u64, 0, 0, 0);
            let pc = self.reg_read(program_counter(self.isa))? & !thumb;
            if self.uc.get_data().limit_hit {
                return Err(HarnessError::new(format!(
                    "`{symbol}` exceeded the limit of {} instructions (pc 0x{pc:08x})",
                    self.instruction_limit
                )));
            }
            if let Err(e) = run {
                return Err(HarnessError::new(format!(
                    "`{symbol}` faulted at pc 0x{pc:08x}: {e:?}"
                )));
            }
            if pc == self.image.return_stub() {
                break Outcome::Returned(self.read_results(sig, result_struct, &field_offsets)?);
            }
            if pc == self.image.trap_stub() {
                break Outcome::Trapped(self.reg_read(argument_register(self.isa, 0))?);
            }
            let import = (0..self.imports.len())
                .find(|i| self.image.import_stub(*i) == pc)
                .ok_or_else(|| {
                    HarnessError::new(format!(
                        "`{symbol}` stopped at pc 0x{pc:08x}, which is no harness stub"
                    ))
                })?;
            self.run_mock_import(import)?;
            resume_at = self.reg_read(link_register(self.isa))?;
        };

        for (index, (register, name)) in saved.iter().enumerate() {
            let value = self.reg_read(*register)?;
            if matches!(outcome, Outcome::Returned(_)) && value != CANARY_BASE + index as u32 {
                return Err(HarnessError::new(format!(
                    "`{symbol}` did not preserve callee-saved {name}: 0x{value:08x}"
                )));
            }
        }
        for (index, (register, name)) in saved_float.iter().enumerate() {
            let value = self.reg_read(*register)?;
            if matches!(outcome, Outcome::Returned(_)) && value != FLOAT_CANARY_BASE + index as u32
            {
                return Err(HarnessError::new(format!(
                    "`{symbol}` did not preserve callee-saved {name}: 0x{value:08x}"
                )));
            }
        }
        let sp_after = self.reg_read(stack_pointer(self.isa))?;
        if matches!(outcome, Outcome::Returned(_)) && sp_after != sp {
            return Err(HarnessError::new(format!(
                "`{symbol}` returned with sp 0x{sp_after:08x}, expected 0x{sp:08x}"
            )));
        }
        Ok(CallResult {
            outcome,
            instructions: self.uc.get_data().instructions,
        })
    }

    /// Before a call: Thumb state with clear flags and no IT block left over from an earlier
    /// fault (Arm), and the FPU status/control register at its default (round to nearest, no
    /// flush-to-zero, no default-NaN mode, no sticky flags).
    fn reset_status(&mut self) -> Result<(), HarnessError> {
        match (self.isa, self.platform.cpu) {
            (Isa::Arm, Cpu::ArmMax) => {
                let cpsr = self.reg_read(RegisterARM::CPSR as i32)?;
                self.reg_write(RegisterARM::CPSR as i32, (cpsr & CPSR_KEEP) | CPSR_THUMB)?;
            }
            (Isa::Arm, _) => self.reg_write(RegisterARM::XPSR as i32, XPSR_THUMB)?,
            (Isa::Rv32, _) => {}
        }
        if self.platform.has_fpu() {
            match self.isa {
                Isa::Arm => self.reg_write(RegisterARM::FPSCR as i32, 0)?,
                Isa::Rv32 => self.reg_write(RegisterRISCV::FCSR as i32, 0)?,
            }
        }
        Ok(())
    }

    fn read_results(
        &self,
        sig: &Signature,
        result_struct: u32,
        field_offsets: &[u32],
    ) -> Result<Vec<Value>, HarnessError> {
        match sig.results.as_slice() {
            [] => Ok(Vec::new()),
            [ty] => Ok(vec![self.read_slots(*ty, &self.result_slots(*ty), 0)?]),
            several => several
                .iter()
                .zip(field_offsets)
                .map(|(ty, offset)| self.read_value(result_struct + offset, *ty))
                .collect(),
        }
    }

    /// The import stub was reached by a call: read its arguments, produce the mock results.
    fn run_mock_import(&mut self, index: usize) -> Result<(), HarnessError> {
        let sig = self.imports[index].sig.clone();
        let hidden = abi::uses_hidden_result_pointer(&sig.results);
        let layout = self.layout(&sig.params, hidden);
        let sp = self.reg_read(stack_pointer(self.isa))?;
        let mut words = layout.words.iter();
        let result_pointer = match hidden {
            true => match words.next() {
                Some(slots) => Some(self.read_slot(slots[0], sp)?),
                None => None,
            },
            false => None,
        };
        let mut args = Vec::with_capacity(sig.params.len());
        for (ty, slots) in sig.params.iter().zip(words) {
            args.push(self.read_slots(*ty, slots, sp)?);
        }
        let results = mock_import_results(&args, &sig.results);
        match (result_pointer, results.as_slice()) {
            (Some(pointer), several) => {
                let (offsets, _) = abi::result_struct_layout(&sig.results);
                for (value, offset) in several.iter().zip(offsets) {
                    self.write_bytes(pointer + offset, &value.to_le_bytes())?;
                }
            }
            (None, [value]) => {
                let slots = self.result_slots(value.ty());
                self.write_slots(*value, &slots, sp)?;
            }
            (None, _) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_lengths_follow_the_encodings() {
        // Thumb: movs r0,#1 (16-bit); bl (f000 f800, 32-bit); ldr.w (f8d0 ...); b.n (e7fe).
        assert_eq!(instruction_length(Isa::Arm, 0x2001), 2);
        assert_eq!(instruction_length(Isa::Arm, 0xf000), 4);
        assert_eq!(instruction_length(Isa::Arm, 0xe92d), 4);
        assert_eq!(instruction_length(Isa::Arm, 0xe7fe), 2);
        // RV32: c.li (4505), addi (0513 ...).
        assert_eq!(instruction_length(Isa::Rv32, 0x4505), 2);
        assert_eq!(instruction_length(Isa::Rv32, 0x0513), 4);
        assert_eq!(
            count_instructions(Isa::Arm, &[0x01, 0x20, 0x00, 0xf0, 0x00, 0xf8, 0xfe, 0xe7]),
            3
        );
    }
}
