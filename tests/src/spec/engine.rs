//! The engines a script runs on. The emulator engines are the real thing: synth's object, linked
//! and executed in unicorn. The IR engines run synth's own reference interpreter (`ir::interp`)
//! on the module as the frontend produced it, and as legalize left it for a target; they need no
//! back end, so comparing the three tells which stage a failure comes from.

use std::panic::{AssertUnwindSafe, catch_unwind};

use std::rc::Rc;

use synth_compiler::ir::interp::{Interp, InterpError, RefSpace, SharedInterp, SharedRefSpace};
use synth_compiler::ir::{self, TrapCode};
use synth_compiler::{CompileError, Options, Target};

use crate::emu::SynthInstance;
use crate::wasm_info::{ModuleInfo, ValType, Value};
use crate::{HarnessError, Outcome};

/// Instructions (emulator) or IR steps (interpreter) one call may take: far above what any spec
/// test needs, low enough that a miscompiled endless loop costs well under a second.
pub const SPEC_INSTRUCTION_LIMIT: u64 = 20_000_000;

/// The host's memory budget for modules that can grow their memory: the spec tests grow a
/// maximum-less memory to 804 pages. Modules without `memory.grow` keep synth's default (what
/// they declare), which keeps their emulator RAM small.
pub const SPEC_GROWABLE_MEMORY_PAGES: u32 = 1024;

/// The options every engine compiles `wasm` with for `target`.
pub fn spec_options(target: Target, wasm: &[u8]) -> Options {
    let mut options = Options::new(target);
    if super::linkage::grows_memory(wasm) {
        options.max_memory_pages = Some(SPEC_GROWABLE_MEMORY_PAGES);
    }
    options
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    /// synth's object for the target, executed in unicorn.
    Emulator(Target),
    /// The frontend's IR (before any optimization), in the reference interpreter.
    FrontendIr,
    /// The IR after opt + legalize (+ opt) for the target: exactly what its back end receives.
    LegalizedIr(Target),
}

impl Engine {
    /// The targets whose conformance the spec test asserts.
    pub const TARGETS: [Engine; 5] = [
        Engine::Emulator(Target::CortexM3),
        Engine::Emulator(Target::CortexM4F),
        Engine::Emulator(Target::CortexM7DP),
        Engine::Emulator(Target::Rv32imac),
        Engine::Emulator(Target::Rv32imafc),
    ];

    /// Diagnostic engines: the IR before and after legalize for the same targets.
    pub const IR_STAGES: [Engine; 6] = [
        Engine::FrontendIr,
        Engine::LegalizedIr(Target::CortexM3),
        Engine::LegalizedIr(Target::CortexM4F),
        Engine::LegalizedIr(Target::CortexM7DP),
        Engine::LegalizedIr(Target::Rv32imac),
        Engine::LegalizedIr(Target::Rv32imafc),
    ];

    pub fn name(self) -> String {
        match self {
            Engine::Emulator(target) => target.name().to_string(),
            Engine::FrontendIr => "ir:frontend".to_string(),
            Engine::LegalizedIr(target) => format!("ir:legalized:{}", target.name()),
        }
    }
}

/// One module compiled for one engine.
pub enum Artifact {
    Object { object: Vec<u8>, target: Target },
    Ir(Box<ir::Module>),
}

/// Why compiling failed: synth's own error, or a panic (always a bug).
#[derive(Clone, Debug)]
pub enum CompileFailure {
    Error(CompileError),
    Panic(String),
}

impl std::fmt::Display for CompileFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileFailure::Error(e) => write!(f, "{e}"),
            CompileFailure::Panic(message) => write!(f, "the compiler panicked: {message}"),
        }
    }
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Compile `wasm` for `engine`, turning a panic into a `CompileFailure`.
pub fn compile(engine: Engine, wasm: &[u8]) -> Result<Artifact, CompileFailure> {
    compile_with_max_pages(engine, wasm, None)
}

/// `compile` with `max_memory_pages` overriding the spec budget (an imported memory's
/// exporter's maximum; the emulator's objects get it from `compile_namespaced`).
pub fn compile_with_max_pages(
    engine: Engine,
    wasm: &[u8],
    max_memory_pages: Option<u32>,
) -> Result<Artifact, CompileFailure> {
    catch_unwind(AssertUnwindSafe(|| {
        compile_unguarded(engine, wasm, max_memory_pages)
    }))
    .map_err(|payload| CompileFailure::Panic(panic_message(payload.as_ref())))?
    .map_err(CompileFailure::Error)
}

fn compile_unguarded(
    engine: Engine,
    wasm: &[u8],
    max_memory_pages: Option<u32>,
) -> Result<Artifact, CompileError> {
    use synth_compiler::frontend;
    let spec_options = |target, wasm| {
        let mut options = spec_options(target, wasm);
        if let Some(pages) = max_memory_pages {
            options.max_memory_pages = Some(pages);
        }
        options
    };
    match engine {
        Engine::Emulator(target) => Ok(Artifact::Object {
            object: synth_compiler::compile(wasm, &spec_options(target, wasm))?.object,
            target,
        }),
        Engine::FrontendIr => {
            let options = spec_options(Target::CortexM3, wasm);
            let module = frontend::translate(&frontend::decode(wasm)?, &options)?;
            ir::verify::module(&module, false)?;
            Ok(Artifact::Ir(Box::new(module)))
        }
        Engine::LegalizedIr(target) => {
            // The first half of `synth_compiler::compile`, stopping where the back end starts.
            let options = spec_options(target, wasm);
            let module = synth_compiler::legalized_module(wasm, &options)?;
            Ok(Artifact::Ir(Box::new(module)))
        }
    }
}

/// Compile `wasm` for the emulator on `target` with namespace `namespace` (`None`: legacy), with
/// `max_memory_pages` overriding the spec budget (an imported memory's exporter's maximum).
pub fn compile_namespaced(
    target: Target,
    wasm: &[u8],
    namespace: Option<&str>,
    max_memory_pages: Option<u32>,
) -> Result<Vec<u8>, CompileFailure> {
    let mut options = spec_options(target, wasm);
    options.module_name = namespace.map(str::to_string);
    if let Some(pages) = max_memory_pages {
        options.max_memory_pages = Some(pages);
    }
    catch_unwind(AssertUnwindSafe(|| synth_compiler::compile(wasm, &options)))
        .map_err(|payload| CompileFailure::Panic(panic_message(payload.as_ref())))?
        .map(|output| output.object)
        .map_err(CompileFailure::Error)
}

/// A live module instance; state persists across calls, as wast requires.
pub enum Instance<'a> {
    Emulator(Box<SynthInstance>),
    /// A member of the script's linked program (`linked::World`), which the runner calls.
    Linked(super::linked::MemberKey),
    /// The reference interpreter; shared, because the instances that import from it link to it.
    Interp {
        interp: SharedInterp<'a>,
        module: &'a ir::Module,
    },
}

/// What an IR instance's imports from one module name link to (`Instance::new_linked`).
pub struct IrLink<'a> {
    pub module: String,
    pub exporter: SharedInterp<'a>,
    pub host_functions: bool,
}

/// A harness-level problem (link error, emulator fault, instruction limit, invalid IR): never a
/// wasm outcome, always a failure of the assertion that ran into it.
pub type RunError = String;

fn harness(e: HarnessError) -> RunError {
    e.message
}

fn interp_outcome<T>(result: Result<T, InterpError>) -> Result<Result<T, u32>, RunError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(InterpError::Trap(code)) => Ok(Err(code.code())),
        Err(other) => Err(format!("interpreter: {other}")),
    }
}

impl<'a> Instance<'a> {
    /// Instantiate: link/load and run the initializer. The outcome is `Trapped` when
    /// instantiation traps.
    pub fn new(artifact: &'a Artifact, wasm: &[u8]) -> Result<(Instance<'a>, Outcome), RunError> {
        match artifact {
            Artifact::Object { object, target } => {
                let info = ModuleInfo::parse_allowing_unused_types(wasm).map_err(harness)?;
                let mut instance = SynthInstance::new(*target, object, &info).map_err(harness)?;
                instance.machine.instruction_limit = SPEC_INSTRUCTION_LIMIT;
                let outcome = instance.instantiate().map_err(harness)?;
                Ok((Instance::Emulator(Box::new(instance)), outcome))
            }
            Artifact::Ir(_) => Instance::new_linked(artifact, &[], &RefSpace::shared()),
        }
    }

    /// Instantiate an IR artifact in reference space `space` (the one its exporters are in)
    /// with its imports from each module name in `links` bound to that interpreter
    /// (`Interp::link`); `host_functions`: only its globals, memory and tables, its functions
    /// are the host's stubs (spectest's print functions).
    pub fn new_linked(
        artifact: &'a Artifact,
        links: &[IrLink<'a>],
        space: &SharedRefSpace<'a>,
    ) -> Result<(Instance<'a>, Outcome), RunError> {
        let Artifact::Ir(module) = artifact else {
            return Err("internal: linking an object outside its world".into());
        };
        let mut interp = Interp::new_in(module, space).map_err(|e| format!("interpreter: {e}"))?;
        interp.set_step_limit(SPEC_INSTRUCTION_LIMIT);
        for link in links {
            let linked = if link.host_functions {
                interp.link_storage(&link.module, &link.exporter)
            } else {
                interp.link(&link.module, &link.exporter)
            };
            linked.map_err(|e| format!("interpreter: linking `{}`: {e}", link.module))?;
        }
        // Shared before its initializer runs: that may already call through a shared table.
        let interp = interp.into_shared();
        let instantiated = interp.borrow_mut().instantiate();
        let outcome = match interp_outcome(instantiated)? {
            Ok(()) => Outcome::Returned(Vec::new()),
            Err(code) => Outcome::Trapped(code),
        };
        let instance = Instance::Interp { interp, module };
        Ok((instance, outcome))
    }

    /// The interpreter other instances link to (`None` for the emulator's instances).
    pub fn shared_interp(&self) -> Option<SharedInterp<'a>> {
        match self {
            Instance::Interp { interp, .. } => Some(Rc::clone(interp)),
            _ => None,
        }
    }

    pub fn invoke(&mut self, export: &str, args: &[Value]) -> Result<Outcome, RunError> {
        match self {
            Instance::Emulator(instance) => {
                Ok(instance.invoke(export, args).map_err(harness)?.outcome)
            }
            Instance::Linked(_) => {
                Err("internal: a linked instance is called through its world".into())
            }
            Instance::Interp { interp, module } => {
                let index = interp
                    .borrow()
                    .export(export)
                    .ok_or_else(|| format!("the module exports no function `{export}`"))?;
                let decl = module
                    .functions
                    .get(index as usize)
                    .ok_or_else(|| format!("no function {index}"))?;
                let params: Vec<ValType> = decl.sig.params.iter().map(|t| val_type(*t)).collect();
                // The IR carries a reference as its i32 word.
                let given: Vec<ValType> = args
                    .iter()
                    .map(|v| {
                        if v.ty().is_ref() {
                            ValType::I32
                        } else {
                            v.ty()
                        }
                    })
                    .collect();
                if params != given {
                    return Err(format!(
                        "arguments of types {given:?} do not match the parameters {params:?} of `{export}`"
                    ));
                }
                let raw: Vec<u64> = args.iter().map(|v| v.bits()).collect();
                let result = interp.borrow_mut().call(index, &raw);
                Ok(match interp_outcome(result)? {
                    Ok(results) => Outcome::Returned(
                        decl.sig
                            .results
                            .iter()
                            .zip(results)
                            .map(|(ty, bits)| ir_value(*ty, bits))
                            .collect(),
                    ),
                    Err(code) => Outcome::Trapped(code),
                })
            }
        }
    }

    /// The current value of the global exported as `name` (wasm global `index`).
    pub fn global(&self, name: &str, index: u32) -> Result<Value, RunError> {
        match self {
            Instance::Emulator(instance) => {
                let global = instance
                    .info
                    .globals
                    .iter()
                    .find(|g| g.index == index)
                    .ok_or_else(|| format!("global `{name}` (index {index}) is not defined"))?;
                let address = instance
                    .machine
                    .image()
                    .symbol(&global.symbol)
                    .map_err(harness)?;
                instance
                    .machine
                    .read_value(address, global.ty)
                    .map_err(harness)
            }
            Instance::Linked(_) => {
                Err("internal: a linked instance is read through its world".into())
            }
            Instance::Interp { interp, module } => {
                let position = module
                    .globals
                    .iter()
                    .position(|g| g.exports.iter().any(|e| e == name))
                    .ok_or_else(|| format!("the IR exports no global `{name}`"))?;
                let ty = module.globals[position].ty;
                let bits = interp
                    .borrow()
                    .global(position as u32)
                    .ok_or_else(|| format!("the interpreter has no global {position}"))?;
                Ok(ir_value(ty, bits))
            }
        }
    }
}

fn val_type(ty: ir::Type) -> ValType {
    match ty {
        ir::Type::I32 => ValType::I32,
        ir::Type::I64 => ValType::I64,
        ir::Type::F32 => ValType::F32,
        ir::Type::F64 => ValType::F64,
    }
}

fn ir_value(ty: ir::Type, bits: u64) -> Value {
    Value::from_bits(val_type(ty), bits)
}

/// The spec's message for a synth trap code.
pub fn trap_message(code: u32) -> &'static str {
    TrapCode::from_code(code).map_or("unknown trap code", TrapCode::message)
}
