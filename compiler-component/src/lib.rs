//! synth: an ahead-of-time compiler from WebAssembly to Cortex-M (Thumb-2) and RV32 ELF objects.
//!
//! The pipeline reads top to bottom, one module per stage, data flowing one way:
//!
//! ```text
//! bytes/WAT -> frontend (validate, SSA) -> opt -> softfloat -> legalize (per-target caps) -> opt
//!           -> isa::{arm,rv32} (lower, regalloc, emit) -> object (ELF, C header) + report
//! ```
//!
//! The library does no I/O and is deterministic: the same input and options give the same bytes.

pub mod cli;
pub mod cli_output;
pub mod error;
mod fast_hash;
pub mod frontend;
pub mod ir;
pub mod isa;
pub mod legalize;
pub mod object;
pub mod opt;
pub mod options;
pub mod regalloc;
pub mod report;
pub mod softfloat;
pub mod source_map;

pub use error::{CompileError, ErrorKind};
pub use options::{Isa, Options, Target};
pub use report::Report;

/// Everything one compilation produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// ELF relocatable object (`ET_REL`).
    pub object: Vec<u8>,
    /// C header declaring the exports, imports and embedder hooks.
    pub header: String,
    pub report: Report,
}

/// Compile a wasm binary or WAT text for `options.target`.
pub fn compile(input: &[u8], options: &Options) -> Result<Output, CompileError> {
    let module = legalized_module(input, options)?;
    let compiled = (0..module.bodies.len())
        .map(|body| {
            isa::compile_function(&module, body, options)
                .map_err(|e| e.in_function(module.bodies[body].name.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (object, footprint) = object::write_elf(&module, &compiled, options)?;
    let header = object::header::generate(&module, options);
    let report = report::build(&module, compiled, footprint, options);
    Ok(Output {
        object,
        header,
        report,
    })
}

/// Everything `compile` does before the back end: decode and translate, optimize, soft floats
/// and memory made explicit (per the target's caps), optimize again, version loops whose
/// bounds checks a test before the loop can cover (`legalize::versioning`) and unroll small
/// counted loops (`opt::unroll`) unless optimizing for size, verify.
pub fn legalized_module(input: &[u8], options: &Options) -> Result<ir::Module, CompileError> {
    options.check_module_name()?;
    let wasm = frontend::decode(input)?;
    let mut module = frontend::translate(&wasm, options)?;
    if options.optimize {
        opt::run(&mut module, opt::Stage::Frontend);
    }
    let caps = isa::caps(options.target);
    softfloat::run(&mut module, caps)?;
    legalize::run(&mut module, caps, options)?;
    if options.optimize {
        let legalized = opt::Stage::Legalized(opt::licm::Budget::of(caps));
        opt::run(&mut module, legalized);
        if options.bounds_checks && !options.optimize_for_size {
            for i in legalize::versioning::run(&mut module, caps) {
                opt::run_function(&mut module.bodies[i], legalized);
            }
        }
        if !options.optimize_for_size {
            // `synth_init` runs once, at start-up: its loops are not worth their copies.
            // Unrolled copies index with constants, so their checks may become provable.
            let min_bytes = legalize::memory_min_bytes(&module);
            for func in module
                .bodies
                .iter_mut()
                .filter(|f| f.name != legalize::INIT_NAME)
            {
                if opt::unroll::run(func, caps.unroll_insts) {
                    opt::run_function(func, legalized);
                    if legalize::constant_checks::run(min_bytes, func) {
                        opt::run_function(func, legalized);
                    }
                }
            }
        }
    }
    ir::verify::module(&module, true)?;
    Ok(module)
}
