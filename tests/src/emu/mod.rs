//! Run synth objects in unicorn: `link` makes a static image with ld.lld, `machine` emulates it
//! with the docs/ABI.md calling convention, and `SynthInstance` is one wasm module instance.

pub mod abi;
pub mod link;
pub mod machine;
pub mod platform;

pub use abi::{FloatAbi, float_abi};
pub use link::{LinkOptions, LinkedImage, Linker, link, link_with, text_by_input};
pub use machine::{CallResult, DEFAULT_INSTRUCTION_LIMIT, Machine};
pub use platform::{Cpu, Fpu, Platform};

use synth_compiler::Target;

use crate::wasm_info::{ModuleInfo, Value};
use crate::{HarnessError, Outcome};

/// A compiled module linked for one target, with one emulator that is reset for every fresh
/// instance (linking and translated code are reused).
pub struct SynthInstance {
    pub machine: Machine,
    pub info: ModuleInfo,
    /// Run in this order by `instantiate`: the linked providers' `NS_init`, then the module's.
    inits: Vec<String>,
    /// The linked providers' module names and own descriptions (`ModuleInfo::parse_namespaced`),
    /// when set (`observe_providers`): `memory` and `globals` then include their state after the
    /// module's, and `invoke_in` calls their exports.
    providers: Vec<(String, ModuleInfo)>,
}

impl SynthInstance {
    /// Link `object` (synth output for `target`) and load it.
    pub fn new(target: Target, object: &[u8], info: &ModuleInfo) -> Result<Self, HarnessError> {
        Self::link_with(target, &[object], info)
    }

    /// Link the synth object together with other objects (e.g. C code calling it).
    pub fn link_with(
        target: Target,
        objects: &[&[u8]],
        info: &ModuleInfo,
    ) -> Result<Self, HarnessError> {
        Self::link_on(&Platform::of(target), objects, info)
    }

    /// Link objects for an explicit platform (e.g. a target with the hard-float convention).
    pub fn link_on(
        platform: &Platform,
        objects: &[&[u8]],
        info: &ModuleInfo,
    ) -> Result<Self, HarnessError> {
        let symbols: Vec<String> = info.imports.iter().map(|i| i.symbol.clone()).collect();
        let image = link(platform, objects, &symbols)?;
        let machine = Machine::on(platform, image, &info.imports)?;
        Ok(SynthInstance {
            machine,
            info: info.clone(),
            inits: vec!["synth_init".to_string()],
            providers: Vec::new(),
        })
    }

    /// Link `object` (legacy names) with the modules it imports from: `providers` are
    /// `(module name, object compiled with that module name)`. Their exports satisfy the
    /// module's imports from them by the docs/ABI.md naming (`NAME_EXPORT`); the other function
    /// imports get the harness's mock stubs. `instantiate` runs each provider's `NAME_init`
    /// first, in the order given.
    pub fn link_providers(
        target: Target,
        object: &[u8],
        info: &ModuleInfo,
        providers: &[(String, Vec<u8>)],
    ) -> Result<Self, HarnessError> {
        let mut info = info.clone();
        info.imports
            .retain(|i| !providers.iter().any(|(name, _)| *name == i.module));
        let mut objects: Vec<&[u8]> = vec![object];
        objects.extend(providers.iter().map(|(_, o)| o.as_slice()));
        let mut instance = Self::link_with(target, &objects, &info)?;
        instance.inits = providers
            .iter()
            .map(|(name, _)| format!("{name}_init"))
            .chain(["synth_init".to_string()])
            .collect();
        Ok(instance)
    }

    /// Start a fresh instance: restore RAM and run `synth_init` (after the linked providers'
    /// inits). A trap there is an instantiation failure, returned as `Outcome::Trapped`.
    pub fn instantiate(&mut self) -> Result<Outcome, HarnessError> {
        self.machine.reset()?;
        for init in &self.inits {
            let outcome = self
                .machine
                .call(init, &Default::default(), &[])
                .map_err(|e| HarnessError::new(format!("{init}: {e}")))?
                .outcome;
            if matches!(outcome, Outcome::Trapped(_)) {
                return Ok(outcome);
            }
        }
        Ok(Outcome::Returned(Vec::new()))
    }

    pub fn invoke(&mut self, export: &str, args: &[Value]) -> Result<CallResult, HarnessError> {
        self.invoke_in(None, export, args)
    }

    /// Call `export` of the module (`module` is `None`) or of the observed provider `module`.
    pub fn invoke_in(
        &mut self,
        module: Option<&str>,
        export: &str,
        args: &[Value],
    ) -> Result<CallResult, HarnessError> {
        let owner = match module {
            None => &self.info,
            Some(module) => self
                .providers
                .iter()
                .find(|(name, _)| name == module)
                .map(|(_, info)| info)
                .ok_or_else(|| HarnessError::new(format!("no linked module `{module}`")))?,
        };
        let export = owner.export(export)?.clone();
        self.machine.call(&export.symbol, &export.sig, args)
    }

    /// Observe the linked providers' memories and globals too, and let `invoke_in` call them:
    /// `infos` are their module names and descriptions under their namespaces
    /// (`ModuleInfo::parse_namespaced`), in link order.
    pub fn observe_providers(&mut self, infos: Vec<(String, ModuleInfo)>) {
        self.providers = infos;
    }

    /// The linear memory's current bytes (`synth_memory_bytes` long; empty without a memory),
    /// followed by each observed provider's defined memory.
    pub fn memory(&self) -> Result<Vec<u8>, HarnessError> {
        let mut bytes = Vec::new();
        for info in std::iter::once(&self.info).chain(self.providers.iter().map(|(_, info)| info)) {
            if !info.has_memory {
                continue;
            }
            let image = self.machine.image();
            let size_word = format!("{}_bytes", info.memory_symbol);
            let size = self.machine.read_u32(image.symbol(&size_word)?)?;
            bytes.extend(
                self.machine
                    .read_bytes(image.symbol(&info.memory_symbol)?, size)?,
            );
        }
        Ok(bytes)
    }

    /// Turn on the emulator's isolation check (`Machine::enable_isolation_check`).
    pub fn enable_isolation_check(&mut self) -> Result<(), HarnessError> {
        self.machine.enable_isolation_check()
    }

    /// After a call with the isolation check on: RAM outside the module's memory, globals,
    /// tables and stack is unchanged, and the linear memory beyond its current size (which a
    /// later `memory.grow` exposes) is still zero. `Some(what changed)` otherwise.
    pub fn check_isolation(&self) -> Result<Option<String>, HarnessError> {
        if let Some(problem) = self.machine.check_isolation()? {
            return Ok(Some(problem));
        }
        if !self.info.has_memory {
            return Ok(None);
        }
        let image = self.machine.image();
        let base = image.symbol("synth_memory")?;
        let Some(&capacity) = image.symbol_sizes.get("synth_memory") else {
            return Ok(None);
        };
        let size = self.machine.read_u32(image.symbol("synth_memory_bytes")?)?;
        if size >= capacity {
            return Ok(None);
        }
        let rest = self.machine.read_bytes(base + size, capacity - size)?;
        Ok(rest.iter().position(|b| *b != 0).map(|at| {
            format!(
                "linear memory beyond its size {size} written: byte 0x{:x} is 0x{:02x}",
                size as usize + at,
                rest[at]
            )
        }))
    }

    /// The defined globals' current values, by global index (then each observed provider's).
    pub fn globals(&self) -> Result<Vec<Value>, HarnessError> {
        std::iter::once(&self.info)
            .chain(self.providers.iter().map(|(_, info)| info))
            .flat_map(|info| &info.globals)
            .map(|g| {
                let address = self.machine.image().symbol(&g.symbol)?;
                self.machine.read_value(address, g.ty)
            })
            .collect()
    }
}
