//! What the harness emulates for a target: the unicorn CPU model, the FPU, the float calling
//! convention, the clang flags of C test code and the libgcc every image is linked with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use synth_compiler::{Isa, Target};

use super::abi::{FloatAbi, float_abi};
use crate::HarnessError;

/// The unicorn CPU model an image runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cpu {
    CortexM3,
    /// Has an FPv4-SP unit (enabled at reset in unicorn's M-profile models).
    CortexM4,
    CortexM7,
    /// unicorn's "max" A-profile core (a Cortex-A15 with the ARMv8 AArch32 additions) run in
    /// Thumb state, for FPv5-D16: unicorn's Cortex-M7 model refuses double-precision
    /// instructions (it undefines `vadd.f64`), and a plain Cortex-A15 lacks the ARMv8 `vrint*`
    /// and `vmaxnm`/`vminnm`; "max" executes all of them once CPACR grants cp10/cp11 and
    /// FPEXC.EN is set. It executes the ARMv7-M Thumb-2 subset synth emits the same way
    /// (unaligned accesses included).
    ArmMax,
    /// RV32IMAC, exactly the rv32imac target.
    SifiveE31,
    /// RV32GC (F and D): executes F/D instructions once mstatus.FS is set.
    SifiveU34,
}

/// The floating-point unit the target's code may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fpu {
    None,
    /// Single precision only (FPv4-SP-D16 on cortex-m4f, F on RV32).
    Single,
    /// Single and double precision (FPv5-D16 on cortex-m7dp).
    Double,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    pub name: &'static str,
    pub isa: Isa,
    pub cpu: Cpu,
    pub fpu: Fpu,
    /// How floats cross function boundaries (exports, imports, the C code in tests).
    pub float_abi: FloatAbi,
}

impl Platform {
    /// The platform of a synth target, with the float convention `abi::float_abi` gives it.
    pub fn of(target: Target) -> Platform {
        let (cpu, fpu) = match target {
            Target::CortexM3 => (Cpu::CortexM3, Fpu::None),
            Target::CortexM4 => (Cpu::CortexM4, Fpu::None),
            Target::CortexM4F => (Cpu::CortexM4, Fpu::Single),
            Target::CortexM7 => (Cpu::CortexM7, Fpu::None),
            Target::CortexM7DP => (Cpu::ArmMax, Fpu::Double),
            Target::Rv32imac => (Cpu::SifiveE31, Fpu::None),
            Target::Rv32imafc => (Cpu::SifiveU34, Fpu::Single),
        };
        Platform {
            name: target.name(),
            isa: target.isa(),
            cpu,
            fpu,
            float_abi: float_abi(target),
        }
    }

    /// The same platform with another float convention (tests of the hard-float path).
    pub fn with_float_abi(self, float_abi: FloatAbi) -> Platform {
        Platform { float_abi, ..self }
    }

    pub fn has_fpu(&self) -> bool {
        self.fpu != Fpu::None
    }

    /// clang flags for C code that follows this platform's conventions (freestanding).
    pub fn clang_flags(&self) -> Vec<&'static str> {
        let float_abi = match (self.fpu, self.float_abi) {
            (Fpu::None, _) => "-mfloat-abi=soft",
            (_, FloatAbi::Soft) => "-mfloat-abi=softfp",
            (_, FloatAbi::Hard) => "-mfloat-abi=hard",
        };
        match (self.isa, self.cpu) {
            (Isa::Arm, Cpu::CortexM3) => {
                vec!["--target=thumbv7m-none-eabi", "-mcpu=cortex-m3", float_abi]
            }
            (Isa::Arm, Cpu::CortexM4) => {
                let mut flags = vec!["--target=thumbv7em-none-eabi", "-mcpu=cortex-m4"];
                if self.has_fpu() {
                    flags.push("-mfpu=fpv4-sp-d16");
                }
                flags.push(float_abi);
                flags
            }
            (Isa::Arm, _) => {
                // cortex-m7 / cortex-m7dp (the latter emulated on an A15, compiled for the M7).
                let mut flags = vec!["--target=thumbv7em-none-eabi", "-mcpu=cortex-m7"];
                match self.fpu {
                    Fpu::None => {}
                    Fpu::Single => flags.push("-mfpu=fpv5-sp-d16"),
                    Fpu::Double => flags.push("-mfpu=fpv5-d16"),
                }
                flags.push(float_abi);
                flags
            }
            // With an FPU, RV32 objects say ILP32F in their ELF header and lld refuses to mix
            // float ABIs, so C code (and libgcc) is ILP32F whatever `float_abi` says about
            // where synth passes floats.
            (Isa::Rv32, _) => match self.fpu {
                Fpu::None => vec!["--target=riscv32", "-march=rv32imac", "-mabi=ilp32"],
                _ => vec!["--target=riscv32", "-march=rv32imafc", "-mabi=ilp32f"],
            },
        }
    }

    /// The GCC driver and the flags that select this platform's libgcc multilib: the soft-float
    /// helpers (`__aeabi_fadd`, `__addsf3`, ...) synth's objects call. FPU targets with the soft
    /// convention use the `softfp` multilib (the FPU may be used inside functions); RV32 with F
    /// uses the rv32imafc/ilp32f multilib.
    pub fn libgcc_flags(&self) -> (&'static str, Vec<&'static str>) {
        match self.isa {
            Isa::Arm => {
                let march = match (self.cpu, self.fpu) {
                    (Cpu::CortexM3, _) => "-march=armv7-m",
                    (_, Fpu::None) => "-march=armv7e-m",
                    (_, Fpu::Single) => "-march=armv7e-m+fp",
                    (_, Fpu::Double) => "-march=armv7e-m+fp.dp",
                };
                let float_abi = match (self.fpu, self.float_abi) {
                    (Fpu::None, _) => "-mfloat-abi=soft",
                    (_, FloatAbi::Soft) => "-mfloat-abi=softfp",
                    (_, FloatAbi::Hard) => "-mfloat-abi=hard",
                };
                ("arm-none-eabi-gcc", vec!["-mthumb", march, float_abi])
            }
            Isa::Rv32 => {
                // The multilib of the core: lld links only objects of one float ABI, and synth's
                // rv32imafc objects declare ILP32F (so do this libgcc's f32 helpers, which take
                // and return f32 in fa registers).
                let flags = match self.fpu {
                    Fpu::None => vec!["-march=rv32imac", "-mabi=ilp32"],
                    _ => vec!["-march=rv32imafc", "-mabi=ilp32f"],
                };
                ("riscv64-unknown-elf-gcc", flags)
            }
        }
    }

    /// The path of this platform's `libgcc.a`, asked from the GCC driver once per process.
    pub fn libgcc(&self) -> Result<PathBuf, HarnessError> {
        static CACHE: OnceLock<Mutex<HashMap<LibgccKey, Result<PathBuf, HarnessError>>>> =
            OnceLock::new();
        let key = self.libgcc_flags();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(found) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return found;
        }
        let found = find_libgcc(key.0, &key.1);
        if let Ok(mut cache) = cache.lock() {
            cache.insert(key, found.clone());
        }
        found
    }
}

/// A GCC driver and the flags that select a multilib.
type LibgccKey = (&'static str, Vec<&'static str>);

fn gcc_output(driver: &str, flags: &[&str], query: &str) -> Result<String, HarnessError> {
    let package = match driver {
        "arm-none-eabi-gcc" => "gcc-arm-none-eabi",
        _ => "gcc-riscv64-unknown-elf",
    };
    let output = Command::new(driver)
        .args(flags)
        .arg(query)
        .output()
        .map_err(|e| {
            HarnessError::new(format!(
                "cannot run `{driver}` ({e}): every linked test image needs its libgcc (the \
                 soft-float helpers synth's objects call); install it with \
                 `apt-get install {package}` (or run ./dev test, which installs it)"
            ))
        })?;
    if !output.status.success() {
        return Err(HarnessError::new(format!(
            "`{driver} {} {query}` failed: {}",
            flags.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn find_libgcc(driver: &str, flags: &[&str]) -> Result<PathBuf, HarnessError> {
    // GCC silently falls back to its default multilib (Arm state / RV64) for flags it has no
    // multilib for; that libgcc would not run on the target.
    let multilib = gcc_output(driver, flags, "-print-multi-directory")?;
    if multilib == "." || multilib.is_empty() {
        return Err(HarnessError::new(format!(
            "`{driver}` has no libgcc multilib for {}",
            flags.join(" ")
        )));
    }
    let path = PathBuf::from(gcc_output(driver, flags, "-print-libgcc-file-name")?);
    if !path.is_file() {
        return Err(HarnessError::new(format!(
            "`{driver} {}` names {} as libgcc, which does not exist",
            flags.join(" "),
            path.display()
        )));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_finds_its_libgcc_multilib() {
        for target in Target::ALL {
            let platform = Platform::of(target);
            let path = platform
                .libgcc()
                .unwrap_or_else(|e| panic!("{}: {e}", target.name()));
            let shown = path.display().to_string();
            let expected = match (target, platform.float_abi) {
                (Target::CortexM3, _) => "thumb/v7-m/nofp/",
                (Target::CortexM4 | Target::CortexM7, _) => "thumb/v7e-m/nofp/",
                (Target::CortexM4F, FloatAbi::Soft) => "thumb/v7e-m+fp/softfp/",
                (Target::CortexM4F, FloatAbi::Hard) => "thumb/v7e-m+fp/hard/",
                (Target::CortexM7DP, FloatAbi::Soft) => "thumb/v7e-m+dp/softfp/",
                (Target::CortexM7DP, FloatAbi::Hard) => "thumb/v7e-m+dp/hard/",
                (Target::Rv32imac, _) => "rv32imac/ilp32/",
                (Target::Rv32imafc, _) => "rv32imafc/ilp32f/",
            };
            assert!(shown.contains(expected), "{}: {shown}", target.name());
            // Cached: the same answer without asking again.
            assert_eq!(platform.libgcc().unwrap(), path);
        }
        let hard = Platform::of(Target::CortexM4F).with_float_abi(FloatAbi::Hard);
        assert!(
            hard.libgcc()
                .unwrap()
                .display()
                .to_string()
                .contains("v7e-m+fp/hard/")
        );
        let rv = Platform::of(Target::Rv32imafc)
            .with_float_abi(FloatAbi::Hard)
            .libgcc()
            .unwrap();
        assert!(
            rv.display().to_string().contains("rv32imafc/ilp32f/"),
            "{}",
            rv.display()
        );
    }

    #[test]
    fn a_missing_multilib_or_driver_is_a_clear_error() {
        let err = find_libgcc("arm-none-eabi-gcc", &["-marm", "-march=armv4"]).unwrap_err();
        assert!(err.message.contains("no libgcc multilib"), "{err}");
        let err = find_libgcc("no-such-gcc-for-synth", &[]).unwrap_err();
        assert!(err.message.contains("apt-get install"), "{err}");
    }
}
